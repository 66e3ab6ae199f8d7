"""Envelope encryption and the blind index."""

from __future__ import annotations

import base64
import os
import stat
from datetime import date

import pytest

from idsvc.crypto import rotation
from idsvc.crypto.blind_index import normalise_name, person_match_key
from idsvc.crypto.envelope import (
    DecryptionFailed,
    KeyMaterial,
    MasterKey,
    load_master_key,
    open_sealed,
    seal,
)
from idsvc.crypto.keyfiles import KeyFileError, write_secret


def test_seal_round_trip_and_binding_to_its_record():
    key = os.urandom(32)
    sealed = seal(key, b"Amaru", aad=b"resident:1:name")
    assert b"Amaru" not in sealed
    assert open_sealed(key, sealed, aad=b"resident:1:name") == b"Amaru"
    with pytest.raises(DecryptionFailed):
        open_sealed(key, sealed, aad=b"resident:2:name")  # moved to another record
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(DecryptionFailed):
        open_sealed(key, tampered, aad=b"resident:1:name")


def test_each_record_has_its_own_data_key():
    master = MasterKey.from_secret(os.urandom(32))
    key_a, wrapped_a = master.new_data_key(owner="a")
    key_b, _ = master.new_data_key(owner="b")
    assert key_a != key_b
    assert master.unwrap(wrapped_a, owner="a") == key_a
    with pytest.raises(DecryptionFailed):
        master.unwrap(wrapped_a, owner="b")
    other_master = MasterKey.from_secret(os.urandom(32))
    with pytest.raises(DecryptionFailed):
        other_master.unwrap(wrapped_a, owner="a")


def test_master_key_file_created_owner_only(tmp_path):
    first = load_master_key(keys_dir=tmp_path, encoded=None, create=True)
    path = tmp_path / "data.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_master_key(keys_dir=tmp_path, encoded=None)
    assert (again.key_id, again.blind_index_key, again.pseudonym_key) == (
        first.key_id, first.blind_index_key, first.pseudonym_key)
    _, wrapped = first.new_data_key(owner="a")
    assert again.unwrap(wrapped, owner="a")


def test_a_first_generation_key_file_and_its_wrapped_keys_still_open(tmp_path):
    """data.key files and IDSVC_DATA_KEY values from before rotation: one base64 secret,
    and data keys wrapped without a key id."""
    secret = os.urandom(32)
    write_secret(tmp_path / "data.key", base64.b64encode(secret) + b"\n")
    from_file = load_master_key(keys_dir=tmp_path, encoded=None)
    from_env = load_master_key(keys_dir=tmp_path, encoded=base64.b64encode(secret).decode())
    assert from_file.blind_index_key == from_env.blind_index_key == \
        MasterKey.from_secret(secret).blind_index_key
    data_key = os.urandom(32)
    old_style = seal(KeyMaterial.from_secret(secret).wrapping_key, data_key, aad=b"dek:r1")
    assert from_file.unwrap(old_style, owner="r1") == data_key
    assert not from_file.is_current(old_style)
    rewrapped = from_file.rewrap(old_style, owner="r1")
    assert from_file.is_current(rewrapped) and from_env.unwrap(rewrapped, owner="r1") == data_key


def test_during_a_rotation_both_keys_open_and_the_new_one_wraps(tmp_path):
    running = load_master_key(keys_dir=tmp_path, encoded=None, create=True)  # a worker
    old_id = running.key_id
    before_key, before = running.new_data_key(owner="a")
    rotating = rotation.begin(tmp_path)
    assert rotating.key_id != old_id
    assert (rotating.blind_index_key, rotating.pseudonym_key) == (
        running.blind_index_key, running.pseudonym_key)  # duplicate checks keep matching
    during_key, during = running.new_data_key(owner="b")  # the worker noticed the new key
    assert rotating.is_current(during) and not rotating.is_current(before)
    assert rotating.unwrap(before, owner="a") == before_key
    after = rotating.rewrap(before, owner="a")
    assert running.unwrap(after, owner="a") == before_key  # loads the new key by its id
    assert running.unwrap(during, owner="b") == during_key


def test_a_next_key_that_is_not_a_rotation_of_the_key_is_refused(tmp_path):
    load_master_key(keys_dir=tmp_path, encoded=None, create=True)
    write_secret(tmp_path / "data-next.key", KeyMaterial.generate().to_file())
    with pytest.raises(KeyFileError, match="does not belong"):
        load_master_key(keys_dir=tmp_path, encoded=None)


def test_master_key_readable_by_others_is_refused(tmp_path):
    load_master_key(keys_dir=tmp_path, encoded=None, create=True)
    (tmp_path / "data.key").chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_master_key(keys_dir=tmp_path, encoded=None)


def test_missing_master_key_is_a_clear_error(tmp_path):
    with pytest.raises(KeyFileError, match="idsvc keys generate"):
        load_master_key(keys_dir=tmp_path, encoded=None)


@pytest.mark.parametrize(("a", "b"), [
    (("José", "Pérez-Ruiz"), ("jose", "PEREZ RUIZ")),
    (("Amaru", "Quispe  Mamani"), ("Mamani", "Quispe Amaru")),
    (("Łucja", "Nowak"), ("Łucja", "nowak")),
])
def test_normalised_names_match(a, b):
    assert normalise_name(*a) == normalise_name(*b)


def test_blind_index_depends_on_key_name_and_birth_date():
    key = os.urandom(32)
    tag = person_match_key(key, given_name="Ana", family_name="Ruiz",
                           date_of_birth=date(1990, 1, 2))
    assert tag == person_match_key(key, given_name="ana", family_name="RUIZ",
                                   date_of_birth=date(1990, 1, 2))
    assert tag != person_match_key(key, given_name="Ana", family_name="Ruiz",
                                   date_of_birth=date(1990, 1, 3))
    assert tag != person_match_key(os.urandom(32), given_name="Ana", family_name="Ruiz",
                                   date_of_birth=date(1990, 1, 2))
    assert "ana" not in tag and "ruiz" not in tag


def test_indic_vowel_signs_stay_part_of_the_name():
    assert normalise_name("सीता", "राम") == "राम सीता"
    assert normalise_name("सीता", "राम") != normalise_name("सती", "राम")
    assert normalise_name("রবীন্দ্রনাথ") != normalise_name("রবন্দ্রনাথ")
