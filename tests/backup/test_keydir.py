"""Which files of the keys directory travel in a backup, and how they come back."""

from __future__ import annotations

import base64
import os
import stat

import pytest

from idsvc.backup import keydir
from idsvc.backup.archive import BackupError
from idsvc.config import Settings
from idsvc.crypto.keyfiles import write_secret


def settings(keys, data_key=None):
    return Settings(database_url="sqlite://", keys_dir=keys, data_key=data_key, demo=True)


@pytest.fixture
def keys(tmp_path):
    folder = tmp_path / "keys"
    write_secret(folder / "data.key", b"master\n")
    write_secret(folder / "data-next.key", b"next master\n")
    write_secret(folder / "signing-abc.pem", b"pem\n")
    (folder / "README.md").write_text("documentation\n")
    write_secret(folder / ".data.key.tmp", b"left by an interrupted write\n")
    return folder


def test_every_key_file_travels_but_not_the_readme_or_hidden_files(keys):
    files, source = keydir.collect(settings(keys), include_data_key=True)
    assert sorted(files) == ["data-next.key", "data.key", "signing-abc.pem"]
    assert source == "file"


def test_the_master_key_can_be_left_out(keys):
    files, source = keydir.collect(settings(keys), include_data_key=False)
    assert sorted(files) == ["signing-abc.pem"] and source == "left out"


def test_a_master_key_from_the_environment_stays_in_the_secret_store(tmp_path):
    folder = tmp_path / "keys"
    write_secret(folder / "signing-abc.pem", b"pem\n")
    env_key = base64.b64encode(os.urandom(32)).decode()
    files, source = keydir.collect(settings(folder, env_key), include_data_key=True)
    assert sorted(files) == ["signing-abc.pem"] and source == "environment"
    assert env_key.encode() not in b"".join(files.values())


def test_an_exposed_key_file_or_odd_name_stops_the_backup(keys):
    (keys / "signing-abc.pem").chmod(0o644)
    with pytest.raises(BackupError, match="readable by other users"):
        keydir.collect(settings(keys), include_data_key=True)
    (keys / "signing-abc.pem").chmod(0o600)
    write_secret(keys / "my key.pem", b"x")
    with pytest.raises(BackupError) as caught:
        keydir.collect(settings(keys), include_data_key=True)
    assert caught.value.code == "key_file_name"


def test_files_come_back_owner_only_never_over_a_different_one(tmp_path):
    target = tmp_path / "restored"
    files = {"data.key": b"master\n", "signing-abc.pem": b"pem\n"}
    to_write, present = keydir.plan(settings(target), files)
    assert present == []
    written = keydir.write(to_write)
    assert sorted(p.name for p in written) == ["data.key", "signing-abc.pem"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in written)
    assert keydir.plan(settings(target), files) == ([], ["data.key", "signing-abc.pem"])
    with pytest.raises(BackupError) as caught:
        keydir.plan(settings(target), {**files, "signing-abc.pem": b"another key\n"})
    assert caught.value.code == "key_file_conflict"
