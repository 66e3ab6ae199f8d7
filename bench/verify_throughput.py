"""POST /api/v1/verify throughput and latency against a bare FastAPI endpoint, one run.

Usage: python bench/verify_throughput.py --database-url URL --keys-dir DIR
           [--out bench/out] [--by qr|card_number] [--duration 15] [--connections 32]
           [--runs 3]

Needs a database seeded by bench/seed.py (its sample of cards and API key in --out)
and `wrk` (Debian package). Both servers run the same way: uvicorn, one worker, no
access log; wrk runs in its own process with 2 threads. Runs alternate baseline and
idsvc so that noise on the shared machine hits both; the medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
ISSUER = "https://id.riverton.example"


def _serve(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--workers", "1",
               "--log-level", "warning", "--no-access-log"]
    if app.endswith("create_app"):
        command.append("--factory")
    process = subprocess.Popen(command, env=env, cwd=BENCH.parent)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{app} did not start")


def _wrk(port: int, seconds: int, connections: int, env: dict[str, str]) -> dict[str, float]:
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-s", str(BENCH / "verify.lua"), f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, env=env, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = {}
    for pct in ("50", "99"):
        value, unit = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", output).groups()
        latency[pct] = float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": rate, "p50_ms": latency["50"], "p99_ms": latency["99"],
            "non_2xx": float(errors.group(1)) if errors else 0.0}


def _rss_mb(pid: int) -> float:
    """Resident memory of a server process after the load (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--keys-dir", required=True)
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    parser.add_argument("--by", choices=("qr", "card_number"), default="qr")
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    sample = json.loads((args.out / "sample.json").read_text())
    bodies = args.out / f"bodies-{args.by}.jsonl"
    bodies.write_text("\n".join(json.dumps({args.by: s[args.by]}) for s in sample) + "\n")
    env = {**os.environ, "IDSVC_DATABASE_URL": args.database_url,
           "IDSVC_KEYS_DIR": args.keys_dir, "IDSVC_ISSUER": ISSUER,
           "IDSVC_VERIFICATION_EVENTS": "batched", "BENCH_BODIES": str(bodies),
           # wrk sends everything from one address: keep the budget (and its cost) on.
           "IDSVC_PARTNER_REQUESTS_PER_ADDRESS_PER_MINUTE": "100000000",
           # bench/seed.py writes plain key files (no passphrase) in a scratch folder.
           "IDSVC_ALLOW_UNENCRYPTED_KEYS": "true",
           "BENCH_KEY": (args.out / "api_key").read_text().strip()}
    servers = {"baseline": _serve("bench.bare_app:app", 8701, env),
               "idsvc": _serve("idsvc.app:create_app", 8702, env)}
    ports = {"baseline": 8701, "idsvc": 8702}
    try:
        check = httpx.post("http://127.0.0.1:8702/api/v1/verify",
                           json=json.loads(bodies.read_text().splitlines()[0]),
                           headers={"Authorization": f"Bearer {env['BENCH_KEY']}"}).json()
        if check["result"] != "valid":
            raise SystemExit(f"a sample card does not verify as valid: {check}")
        results: dict[str, list[dict[str, float]]] = {"baseline": [], "idsvc": []}
        for _ in range(args.runs):
            for name in ("baseline", "idsvc"):
                results[name].append(_wrk(ports[name], args.duration, args.connections, env))
        rss_mb = {name: _rss_mb(process.pid) for name, process in servers.items()}
    finally:
        for process in servers.values():
            process.terminate()
            process.wait(timeout=10)
    summary = {name: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
               for name, runs in results.items()}
    ratio = summary["idsvc"]["rps"] / summary["baseline"]["rps"]
    print(json.dumps({"by": args.by, "connections": args.connections, "runs": args.runs,
                      **summary, "ratio": round(ratio, 3), "rss_mb": rss_mb}, indent=1))


if __name__ == "__main__":
    main()
