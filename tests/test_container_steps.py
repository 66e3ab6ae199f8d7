"""The container image's steps, in a plain virtual environment (no Docker engine here).

As docker/Dockerfile does: copy what its builder stage copies, build idsvc's wheel,
install it into a fresh virtual environment with no source tree on the path; then, as
docker/compose.yaml does, run docker/entrypoint.sh `migrate` (with IDSVC_INIT_KEYS=1)
and the default `serve` with 2 workers against a scratch PostgreSQL database, wait for
/readyz, enrol and verify a card over HTTP, check that both workers are counted in
/metrics and that the JSON logs hold no personal data, and stop the server.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from idsvc.config import Settings
from tests.databases import scratch_database
from tests.factories import card_qr, enroll_and_approve
from tests.live import _free_port
from tests.observability.conftest import parse, value

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
PASSWORD = "container steps password 42"
COPIED = ("pyproject.toml", "README.md", "templates", "idsvc")  # by the builder stage
# Read by docker/entrypoint.sh, not by idsvc's settings.
ENTRYPOINT_VARIABLES = {"IDSVC_HOST", "IDSVC_PORT", "IDSVC_WORKERS", "IDSVC_MIGRATE",
                        "IDSVC_INIT_KEYS"}
# What the running service reads besides code, as the wheel must carry it.
PACKAGE_DATA = ("idsvc/templates/base.html", "idsvc/templates/_login_form.html",
                "idsvc/web/static/css/site.css", "idsvc/web/static/js/offline/sw.js",
                "idsvc/web/locale/es/LC_MESSAGES/messages.po",
                "idsvc/web/locale/zh_Hans/LC_MESSAGES/messages.po",
                "idsvc/migrations/script.py.mako",
                "idsvc/migrations/versions/0001_initial_schema.py",
                "idsvc/enrollment/default_policy.toml")


def builder_copies() -> list[str]:
    """The sources the Dockerfile's builder stage copies, in order."""
    builder = DOCKERFILE.read_text().split("\nFROM ")[1]
    return [word for line in builder.splitlines() if line.startswith("COPY ")
            for word in line.split()[1:-1]]


def test_the_dockerfile_copies_what_this_test_builds_from():
    assert builder_copies() == list(COPIED)


def test_the_entrypoint_is_valid_posix_shell():
    assert subprocess.run(["sh", "-n", str(ENTRYPOINT)]).returncode == 0


def test_the_compose_file_wires_migration_replicas_and_database():
    """What `docker compose config` would check, without Docker: the services, the order
    they start in, the shared key volume, and that every setting is one idsvc reads."""
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    assert set(compose) - {"name", "services", "volumes"} <= {"x-idsvc", "x-idsvc-env"}
    services = compose["services"]
    assert set(services) == {"db", "migrate", "app", "proxy"}
    db, migrate, app, proxy = (services[n] for n in ("db", "migrate", "app", "proxy"))
    assert db["image"] == "postgres:15" and "pg_isready" in db["healthcheck"]["test"][1]
    assert migrate["command"] == ["migrate"] and migrate["restart"] == "no"
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert app["command"] == ["serve"] and app["deploy"]["replicas"] == 2
    assert app["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert app["environment"]["IDSVC_MIGRATE"] == "0"  # replicas never migrate
    assert migrate["environment"]["IDSVC_INIT_KEYS"] == "1"
    assert proxy["depends_on"] == {"app": {"condition": "service_healthy"}}
    assert (ROOT / "docker" / proxy["volumes"][0].split(":")[0]).is_file()
    for service in (migrate, app):
        assert service["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
        assert "keys:/keys" in service["volumes"]
    named = {v.split(":")[0] for s in services.values() for v in s.get("volumes", [])
             if not v.startswith(".")}
    assert named == set(compose["volumes"])
    settings = set(Settings.model_fields)
    for service in (migrate, app):
        for name, setting in service["environment"].items():
            assert isinstance(setting, str), name
            if name.startswith("IDSVC_") and name not in ENTRYPOINT_VARIABLES:
                assert name.removeprefix("IDSVC_").lower() in settings, name
    text = (ROOT / "docker" / "compose.yaml").read_text()
    bare = re.findall(r"\$\{(\w+)\}", text)
    assert not bare, f"variables without a default or an error message: {bare}"


def _run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          timeout=900, **kwargs)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """idsvc built as the image builds it and installed into a fresh virtual environment."""
    work = tmp_path_factory.mktemp("image")
    source = work / "src"
    source.mkdir()
    for name in COPIED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", work / "wheels",
         source)
    [wheel] = (work / "wheels").glob("idsvc-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in PACKAGE_DATA if name not in names]
    assert not missing, f"not in the wheel: {missing}"
    env_dir = work / "venv"
    _run(sys.executable, "-m", "venv", env_dir)
    _run(env_dir / "bin" / "pip", "install", "--quiet", "--disable-pip-version-check", wheel)
    return env_dir


def _environment(venv: Path, url: str, folder: Path, port: int) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("IDSVC_", "PYTHON", "VIRTUAL_ENV"))}
    return {**keep, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
            "IDSVC_DATABASE_URL": url, "IDSVC_KEYS_DIR": str(folder / "keys"),
            "IDSVC_ISSUER": f"http://127.0.0.1:{port}",
            "IDSVC_KEY_PASSPHRASE": secrets.token_urlsafe(24),
            "IDSVC_METRICS_TOKEN": secrets.token_urlsafe(24),
            "IDSVC_HOST": "127.0.0.1", "IDSVC_PORT": str(port), "IDSVC_WORKERS": "2",
            "IDSVC_LOG_FORMAT": "json"}


@pytest.fixture
def server(venv: Path, tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    """`entrypoint.sh migrate`, then `entrypoint.sh` (serve) until /readyz says ready."""
    run_dir = tmp_path / "run"  # no .env and no source tree here
    run_dir.mkdir()
    port = _free_port()
    with scratch_database("postgresql", tmp_path) as url:
        env = _environment(venv, url, tmp_path, port)
        migrate = {**env, "IDSVC_INIT_KEYS": "1"}
        first = _run("sh", ENTRYPOINT, "migrate", env=migrate, cwd=run_dir)
        assert "active signing key" in first.stdout
        again = _run("sh", ENTRYPOINT, "migrate", env=migrate, cwd=run_dir)
        assert "active signing key" not in again.stdout  # keys are made once, never again
        log = (tmp_path / "server.log").open("w")  # the logs: standard error
        process = subprocess.Popen(["sh", str(ENTRYPOINT)], env=env, cwd=run_dir,
                                   stdout=subprocess.DEVNULL, stderr=log,
                                   start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, process, tmp_path / "server.log")
            yield base, env, tmp_path / "server.log"
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            log.close()


def _wait_ready(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"not ready in time:\n{log.read_text()}")


def _scrape(client: httpx.Client, token: str, ready) -> dict:
    """Scrape until `ready(samples)`: other workers' counts arrive within a second."""
    deadline = time.monotonic() + 30
    while True:
        samples = parse(client.get("/metrics", headers={
            "Authorization": f"Bearer {token}"}).text)
        if ready(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.5)


@pytest.mark.slow
def test_the_image_steps_serve_a_card_with_two_workers(venv, server):
    installed = subprocess.run([venv / "bin" / "python", "-c",
                                "import idsvc; print(idsvc.__file__)"],
                               capture_output=True, text=True, cwd=venv, check=True)
    assert installed.stdout.startswith(str(venv)), installed.stdout  # not the checkout
    base, env, log = server
    run = {"env": env, "cwd": Path(log).parent / "run"}
    _run("sh", ENTRYPOINT, "staff", "create", "clerk", "--role", "clerk",
         "--password", PASSWORD, **run)
    partner = _run("sh", ENTRYPOINT, "partner", "create", "Riverton Police",
                   "--kind", "law_enforcement", **run).stdout
    api_key = re.search(r"\b(\S{30,})\s*$", partner).group(1)
    with httpx.Client(base_url=base, timeout=30) as client:
        token = client.post("/api/v1/auth/token", data={"username": "clerk",
                                                        "password": PASSWORD}).json()
        clerk = {"Authorization": f"Bearer {token['access_token']}"}
        number = enroll_and_approve(client, clerk)["card_number"]
        qr = card_qr(client, clerk, number)
        for body in ({"qr": qr}, {"card_number": number}):
            r = client.post("/api/v1/verify", json=body,
                            headers={"Authorization": f"Bearer {api_key}"})
            assert r.status_code == 200 and r.json()["result"] == "valid", r.text
            assert r.headers["x-request-id"]
        page = client.get("/", headers={"Accept-Language": "es"})
        assert page.status_code == 200 and 'lang="es"' in page.text  # templates, catalogs
        assert client.get("/static/css/site.css").status_code == 200

        def counted(samples: dict) -> bool:
            return (value(samples, "idsvc_workers") == 2
                    and value(samples, "idsvc_cards_issued_total", reason="new") == 1
                    and value(samples, "idsvc_verifications_total", method="qr",
                              result="valid") == 1
                    and value(samples, "idsvc_verifications_total", method="number",
                              result="valid") == 1)

        samples = _scrape(client, env["IDSVC_METRICS_TOKEN"], counted)
        assert counted(samples), {k: v for k, v in samples.items() if k[0].startswith("idsvc")}
        pids = {dict(labels)["pid"] for name, labels in samples
                if name == "process_resident_memory_bytes"}
        assert len(pids) == 2
    time.sleep(1.5)  # the access lines of the last requests
    lines = [line for line in Path(log).read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    access = [r for r in records if r["logger"] == "idsvc.access"]
    assert any(r["route"] == "/api/v1/cards/{card_number}/qr" for r in access)
    assert all("request_id" in r and "duration_ms" in r for r in access)
    text = "\n".join(lines)
    for secret in (number, "Amaru", "Quispe", "1988-04-17", "Hudson", api_key):
        assert secret not in text, secret
