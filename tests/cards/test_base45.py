"""The fast Base45 decoder agrees with the reference package and refuses what it refuses."""

from __future__ import annotations

import os

import base45
import pytest
from hypothesis import given
from hypothesis import strategies as st

from idsvc.cards.base45 import Base45Error, b45decode, b45encode


# 8,190-8,194 bytes straddle the precomputed lane mask (4,096 groups); 20,000 goes past it.
@pytest.mark.parametrize("size", [0, 1, 2, 3, 17, 460, 1001, 8190, 8192, 8194, 20000])
def test_round_trip_matches_the_reference(size):
    data = os.urandom(size)
    assert b45decode(base45.b45encode(data).decode()) == data


@given(st.binary(max_size=600))
def test_any_bytes_round_trip(data):
    assert b45decode(base45.b45encode(data)) == data


@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:abc\u00e9", max_size=40))
def test_same_verdict_as_the_reference_on_any_text(text):
    try:
        expected = base45.b45decode(text)
    except ValueError:
        expected = None
    try:
        actual = b45decode(text)
    except Base45Error:
        actual = None
    assert actual == expected


@pytest.mark.parametrize("text", ["A", "GGW", "::::", "abc", "ZZZZ", "é"])
def test_not_base45(text):
    with pytest.raises(Base45Error):
        b45decode(text)


@pytest.mark.parametrize("groups", [1, 4096, 4097, 7000])
def test_a_group_above_65535_is_refused_at_any_length(groups):
    """":::" is 44 + 44*45 + 44*2025 = 91124: too large for two bytes, wherever it sits."""
    valid = base45.b45encode(bytes(2 * groups)).decode()
    with pytest.raises(Base45Error):
        b45decode(valid[:-3] + ":::")
    with pytest.raises(Base45Error):
        b45decode(":::" + valid[3:])


@given(st.binary(max_size=900))
def test_the_encoder_writes_what_the_reference_writes(data):
    assert b45encode(data) == base45.b45encode(data)
