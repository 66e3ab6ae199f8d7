"""Request ids: the client's own when it is sane, else a cheap unique one.

A generated id is this worker's random prefix and a counter (`3f9a1c0e7b2d-1a`): unique
across workers and restarts without a uuid4 per request, which costs more than the whole
id handling budget of the verify fast path. A client's `X-Request-ID` is echoed so a
partner can match our logs to theirs, but only if it is short and plain (letters,
digits and `._:/+=-`): anything else could forge or break a log line.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable

HEADER = b"x-request-id"
MAX_LENGTH = 64
_SANE = re.compile(rb"[A-Za-z0-9._:/+=-]{1,%d}" % MAX_LENGTH).fullmatch


class RequestIds:
    """Ids for one worker process, as bytes: the header's own type, decoded only when a
    log line is written."""

    def __init__(self) -> None:
        self.prefix = os.urandom(6).hex()
        self._prefix = f"{self.prefix}-".encode()
        self._next = itertools.count(1).__next__  # atomic under the GIL

    def new(self) -> bytes:
        return self._prefix + b"%x" % self._next()

    def for_request(self, headers: Iterable[tuple[bytes, bytes]]) -> bytes:
        """The client's id if it sent a sane one, else a new one."""
        for name, value in headers:
            if name == HEADER:
                if _SANE(value):
                    return value
                break
        return self.new()
