"""`/metrics` in Prometheus' text format: this worker's live counts plus the others'.

Families (all counters grow for the server's life; labels are small fixed sets):

- `idsvc_http_requests_total{method, route, status}` and
  `idsvc_http_request_duration_seconds{method, route, status}` (histogram): `route` is
  the route template, `status` the class (`2xx`, ...);
- `idsvc_verifications_total{method, result}`: partner checks by `qr` or `number`, by
  verdict, through the API and the desk pages;
- `idsvc_cards_issued_total{reason}` (`new`, `replace`, `renew`, `reissue`) and
  `idsvc_redemptions_total`, counted when their transaction commits;
- `idsvc_workers`: workers whose counts are in this answer and alive;
- `process_*{pid}`: CPU, memory, open files and start time of each live worker.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from prometheus_client import ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.utils import floatToGoString

from idsvc.observability.metrics import BUCKETS, Metrics, Totals
from idsvc.observability.workers import STALE_AFTER, SharedFolder

_PROCESS = ProcessCollector(registry=None)
_BOUNDS = [floatToGoString(bound) for bound in BUCKETS]


def process_figures() -> dict[str, float]:
    """This process's CPU, memory and file figures, by sample name (empty off Linux)."""
    return {sample.name: sample.value for family in _PROCESS.collect()
            for sample in family.samples}


def worker_snapshot(metrics: Metrics) -> dict[str, Any]:
    """What a worker writes to the shared folder."""
    return {"pid": os.getpid(), "written": time.time(), "process": process_figures(),
            **metrics.snapshot()}


@dataclass(frozen=True)
class _Families:
    families: list[Metric]

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def render(metrics: Metrics, shared: SharedFolder | None) -> bytes:
    """The exposition text: counts summed over every worker, process figures of the
    live ones."""
    totals = Totals()
    totals.add_json(metrics.snapshot())
    live = {os.getpid(): process_figures()}
    for other in shared.others() if shared is not None else ():
        totals.add_json(other)
        if time.time() - other.get("written", 0) < STALE_AFTER and "pid" in other:
            live[int(other["pid"])] = other.get("process", {})
    return generate_latest(_Families([*_counts(totals), *_processes(live)]))  # type: ignore[arg-type]


def _counts(totals: Totals) -> Iterator[Metric]:
    labels = ["method", "route", "status"]
    requests = CounterMetricFamily(
        "idsvc_http_requests", "HTTP requests answered, by route template and status class.",
        labels=labels)
    latency = HistogramMetricFamily(
        "idsvc_http_request_duration_seconds",
        "Time from the request's arrival to the end of the answer, in seconds.", labels=labels)
    for (method, route, status), row in sorted(totals.http.items()):
        values = [method, route, f"{status}xx"]
        cumulative = list(accumulate(row[1:]))
        requests.add_metric(values, cumulative[-1])
        latency.add_metric(values, [*zip(_BOUNDS, cumulative[:-1], strict=True),
                                    ("+Inf", cumulative[-1])], sum_value=row[0])
    verifications = CounterMetricFamily(
        "idsvc_verifications", "Partner verifications by method (qr, number) and verdict.",
        labels=["method", "result"])
    for (method, result), n in sorted(totals.verifications.items()):
        verifications.add_metric([method, result], n)
    cards = CounterMetricFamily("idsvc_cards_issued",
                                "Cards issued (committed), by reason.", labels=["reason"])
    for reason, n in sorted(totals.cards_issued.items()):
        cards.add_metric([reason], n)
    redemptions = CounterMetricFamily("idsvc_redemptions", "Benefit redemptions (committed).",
                                      value=totals.redemptions)
    yield from (requests, latency, verifications, cards, redemptions)


def _processes(live: dict[int, dict[str, float]]) -> Iterator[Metric]:
    yield GaugeMetricFamily("idsvc_workers", "Live worker processes counted in this answer.",
                            value=len(live))
    for family in _PROCESS.collect():
        labelled = Metric(family.name, family.documentation, family.type)
        for pid, figures in sorted(live.items()):
            for sample in family.samples:
                if sample.name in figures:
                    labelled.add_sample(sample.name, {"pid": str(pid)}, figures[sample.name])
        yield labelled
