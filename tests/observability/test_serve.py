"""`idsvc serve`: our logging instead of uvicorn's, workers, and a shared metrics folder."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from idsvc.cli import app as cli
from idsvc.config import get_settings
from idsvc.observability.workers import DIR_VARIABLE


@pytest.fixture
def served(tmp_path, monkeypatch):
    """Runs `idsvc serve ...` with uvicorn replaced by a recorder of its arguments."""
    monkeypatch.setenv("IDSVC_DATABASE_URL", f"sqlite:///{tmp_path / 'idsvc.db'}")
    monkeypatch.setenv("IDSVC_KEYS_DIR", str(tmp_path / "keys"))
    for name in ("IDSVC_WORKERS", "IDSVC_METRICS_DIR", "IDSVC_LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    calls = []

    def fake_run(app, **options):
        calls.append({"app": app, "folder": os.environ.get(DIR_VARIABLE), **options})

    monkeypatch.setattr("idsvc.cli.uvicorn.run", fake_run)

    def serve(*args: str) -> dict:
        get_settings.cache_clear()
        result = CliRunner().invoke(cli, ["serve", *args])
        assert result.exit_code == 0, result.output
        return calls[-1]

    yield serve
    get_settings.cache_clear()


def test_serve_logs_json_lines_and_replaces_uvicorns_access_log(served):
    call = served()
    assert call["access_log"] is False and call["workers"] == 1
    config = call["log_config"]
    assert config["handlers"]["default"]["formatter"] == "json"
    assert config["loggers"]["idsvc.access"]["level"] == "INFO"
    assert config["loggers"]["uvicorn.access"] == {"level": "WARNING", "handlers": [],
                                                   "propagate": False}
    assert call["folder"] is None  # one worker counts alone


def test_several_workers_share_a_metrics_folder_for_the_servers_life(served, monkeypatch):
    monkeypatch.setenv("IDSVC_WORKERS", "3")
    call = served()
    assert call["workers"] == 3
    assert call["folder"] is not None and not os.path.exists(call["folder"])  # removed after
    assert DIR_VARIABLE not in os.environ


def test_a_configured_metrics_folder_is_emptied_at_start(served, monkeypatch, tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "old-worker.json").write_text("{}")
    monkeypatch.setenv("IDSVC_METRICS_DIR", str(folder))
    monkeypatch.setenv("IDSVC_LOG_FORMAT", "text")
    call = served("--workers", "2")
    assert call["workers"] == 2 and list(folder.iterdir()) == []
    assert call["log_config"]["handlers"]["default"]["formatter"] == "text"
