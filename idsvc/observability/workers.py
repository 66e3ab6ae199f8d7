"""Counts shared between the workers of one server, through a folder of snapshots.

Each uvicorn worker is its own process with its own counters, and a scrape reaches just
one of them. So every worker writes its cumulative counts (and its process figures) to
`<folder>/<worker id>.json` once a second, and the worker that answers `/metrics` adds the
other workers' files to its own live counts. A worker that exits leaves its last file:
its counts stay in the sum, so counters never go back (its process figures are dropped
once the file is older than `STALE_AFTER`). The folder belongs to one server and is
emptied when it starts (`idsvc serve`); counts are at most `FLUSH_SECONDS` late.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger("idsvc.metrics")
FLUSH_SECONDS = 1.0
STALE_AFTER = 5 * FLUSH_SECONDS
DIR_VARIABLE = "IDSVC_METRICS_DIR"


class SharedFolder:
    """This worker's snapshot file, and the other workers' files beside it."""

    def __init__(self, folder: Path, worker: str) -> None:
        self.folder = folder
        self.path = folder / f"{worker}.json"

    def write(self, snapshot: dict[str, Any]) -> None:
        """Replace this worker's file at once, so a reader never sees half of it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(snapshot, separators=(",", ":")), encoding="utf-8")
        os.replace(partial, self.path)

    def others(self) -> list[dict[str, Any]]:
        found = []
        for path in self.folder.glob("*.json"):
            if path == self.path:
                continue
            try:
                found.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):  # removed meanwhile, or not one of ours
                continue
        return found


class Flusher:
    """Calls `write` every `FLUSH_SECONDS` from a daemon thread, and once more at stop."""

    def __init__(self, write: Callable[[], None], interval: float = FLUSH_SECONDS) -> None:
        self._write, self._interval = write, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed = False

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="idsvc-metrics", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._flush()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._flush()

    def _flush(self) -> None:
        try:
            self._write()
            self._failed = False
        except OSError as exc:
            if not self._failed:  # once per outage, not once a second
                log.warning("cannot write metrics snapshot: %s", type(exc).__name__)
            self._failed = True


@contextmanager
def server_folder(configured: Path | None, workers: int) -> Iterator[None]:
    """For `idsvc serve`: an empty snapshot folder for this server's workers.

    A configured folder is emptied of earlier runs' files. With several workers and no
    folder configured, a temporary one is made, handed to the workers through the
    environment, and removed when the server stops.
    """
    if configured is not None:
        configured.mkdir(parents=True, exist_ok=True)
        for stale in configured.glob("*.json"):
            stale.unlink(missing_ok=True)
        yield
        return
    if workers <= 1:
        yield
        return
    folder = tempfile.mkdtemp(prefix="idsvc-metrics-")
    os.environ[DIR_VARIABLE] = folder
    try:
        yield
    finally:
        os.environ.pop(DIR_VARIABLE, None)
        shutil.rmtree(folder, ignore_errors=True)
