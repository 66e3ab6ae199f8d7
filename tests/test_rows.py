"""Bulk rows (idsvc.rows): the ORM's defaults filled in, nothing unknown or naive let by."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from idsvc.cards.models import Card
from idsvc.rows import Columns

CARDS = Columns(Card, skip=())
NOW = datetime(2026, 12, 8, tzinfo=UTC)
GIVEN = {"id": "c" * 32, "number": "123456789012", "version": 1, "resident_id": "r" * 32,
         "state": "active", "issued_at": NOW, "status_list_id": 1, "status_idx": 7,
         "kid": "k", "credential": b"sealed"}


def test_a_row_carries_the_model_defaults_for_what_it_leaves_out():
    row = dict(zip(CARDS.names, CARDS.row(**GIVEN), strict=True))
    assert row["delivery"] == "desk" and row["issue_reason"] == "new"
    assert row["qr_has_photo"] is True and row["activation_failures"] == 0
    assert row["application_id"] is None and row["mailed_at"] is None
    assert row["number"] == "123456789012"


def test_unknown_or_missing_columns_are_refused():
    with pytest.raises(ValueError, match="unknown"):
        CARDS.row(**GIVEN, nationality="x")
    with pytest.raises(ValueError, match=r"missing .*kid"):
        CARDS.row(**{k: v for k, v in GIVEN.items() if k != "kid"})


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="Naive"):
        CARDS.row(**{**GIVEN, "issued_at": NOW.replace(tzinfo=None)})


def test_every_column_has_a_binary_copy_type():
    assert len(CARDS.binary_types) == len(CARDS.names)
    assert dict(zip(CARDS.names, CARDS.binary_types, strict=True))["credential"] == "bytea"
