"""CSV downloads (redemption logs, reports): one way to write them and to send them.

Spreadsheets are how partners and auditors read these lists, so the API (`Accept:
text/csv`) and the pages must give the same bytes for the same rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from starlette.responses import Response


def csv_text(fieldnames: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """A header line, then one line per row in the order of `fieldnames`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fieldnames)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def csv_response(text: str, filename: str) -> Response:
    """A download (attachment) the browser saves as `filename`."""
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
