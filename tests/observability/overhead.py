"""What the request observer (request id, metrics, access-line check) adds per verify.

Not a test (no timed assertions): run it by hand on a quiet machine,

    .venv/bin/python -m tests.observability.overhead [--calls 100000] [--runs 9]

It calls the verify fast path (`FastPath`, with an endpoint that answers at once) in a
loop with a fake scope shaped like a partner's request, with and without a
`RequestObserver` to report to (as create_app wires it), alternating, and prints the
median per-call difference in CPU time. Logging is not configured, as in
bench/verify_throughput.py: the access line is skipped by one `isEnabledFor` check.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from idsvc.observability.metrics import Metrics
from idsvc.observability.middleware import RequestObserver
from idsvc.observability.requestids import RequestIds
from idsvc.observability.routes import RouteTemplates
from idsvc.verification.fastpath import FastPath

PATH = "/api/v1/verify"
BODY = b'{"result":"valid","checked_at":"2026-12-01T01:02:03Z"}'


async def endpoint(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


async def never(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("the fast path answers every request here")


def verify_scope() -> Scope:
    return {"type": "http", "method": "POST", "path": PATH, "query_string": b"",
            "headers": [(b"host", b"id.riverton.example"), (b"user-agent", b"wrk"),
                        (b"accept", b"*/*"), (b"content-type", b"application/json"),
                        (b"authorization", b"Bearer pk_0123456789abcdef"),
                        (b"content-length", b"700")],
            "client": ("10.0.0.7", 50000), "server": ("10.0.0.1", 8000), "scheme": "http"}


async def per_call(app, calls: int) -> float:
    scope = verify_scope()

    async def receive():
        return {"type": "http.request", "body": b'{"qr": "HC1:X"}', "more_body": False}

    async def send(message):
        return None

    start = time.process_time()
    for _ in range(calls):
        await app(dict(scope), receive, send)
    return (time.process_time() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    fast = FastPath(never, path=PATH, endpoint=endpoint)
    observer = RequestObserver(never, metrics=Metrics(), ids=RequestIds(),
                               templates=RouteTemplates(fixed=(PATH,)))
    observed = FastPath(observer, path=PATH, endpoint=endpoint, observer=observer)
    bare, wrapped = [], []
    for _ in range(args.runs):
        bare.append(asyncio.run(per_call(fast, args.calls)))
        wrapped.append(asyncio.run(per_call(observed, args.calls)))
    added = [w - b for w, b in zip(wrapped, bare, strict=True)]
    print(f"bare {statistics.median(bare) * 1e6:.2f} µs, observed "
          f"{statistics.median(wrapped) * 1e6:.2f} µs, added {statistics.median(added) * 1e6:.2f}"
          f" µs per request (median of {args.runs} runs of {args.calls:,} calls; "
          f"spread {min(added) * 1e6:.2f} to {max(added) * 1e6:.2f} µs)")


if __name__ == "__main__":
    main()
