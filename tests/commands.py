"""Running `idsvc` commands in-process, as an operator would, against test settings."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import Result
from typer.testing import CliRunner

from idsvc.cli import app as cli
from idsvc.config import get_settings

Invoke = Callable[..., Result]


def idsvc_commands(monkeypatch: pytest.MonkeyPatch, **settings: str) -> Invoke:
    """`invoke(*args, input=None, code=0)` runs one command with the given IDSVC_* settings
    (no IDSVC_DATA_KEY from the caller's environment) and checks its exit code. Settings
    are re-read for every command, as each real run of `idsvc` does; the caller's fixture
    clears the cache when it ends."""
    for name, value in settings.items():
        monkeypatch.setenv(f"IDSVC_{name.upper()}", value)
    monkeypatch.delenv("IDSVC_DATA_KEY", raising=False)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, code: int = 0) -> Result:
        get_settings.cache_clear()
        result = runner.invoke(cli, list(args), input=input)
        assert result.exit_code == code, result.output
        return result

    return invoke
