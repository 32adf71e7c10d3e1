"""Helpers for tests of any Strata server: a free loopback port, an app served on it in-process, and a real
PostgreSQL server (Debian's binaries) in a temp dir."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio

from strata.shared.process import stop

__all__ = ["ThreadServer", "free_port", "postgres_binaries", "postgres_server", "serving", "wait_healthy"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def serving(app: Any, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn (lifespan on) for the body; yields its base URL."""
    import uvicorn

    from strata.shared.runner import http_config

    port = free_port()
    server = uvicorn.Server(http_config(app, host, port))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        with anyio.fail_after(30):
            while not server.started:
                await anyio.sleep(0.02)
        try:
            yield f"http://{host}:{port}"
        finally:
            server.should_exit = True


def wait_healthy(url: str, timeout: float = 120.0) -> bool:
    """Poll ``<url>/healthz`` until it answers 200; False if it never does within ``timeout`` seconds."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return False


class ThreadServer:
    """uvicorn serving ``app`` on a free loopback port, in a thread with its own event loop.

    For fakes of what cannot run here (a paid cloud API), reached by server *processes* under test.
    """

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, lifespan="on", log_config=None)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


POSTGRES_START_S = 60


def postgres_binaries() -> Path | None:
    """The directory holding initdb and postgres: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("postgres"):
        return Path(os.path.realpath(on_path)).parent
    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if Path(found, "initdb").exists() and Path(found, "postgres").exists():
            return Path(found)
    return None


@contextmanager
def postgres_server(bin_dir: Path) -> Iterator[str]:
    """Start a throwaway cluster; yields its URL (database ``postgres``, user ``strata``, trust on loopback).

    initdb and postgres refuse to run as root, so under root the cluster belongs to the ``postgres`` system user
    (Debian's package creates it) and the server runs as that user; otherwise as whoever runs the tests.
    """
    user: str | None = None
    if os.geteuid() == 0:
        user = "postgres"
        pwd.getpwnam(user)  # KeyError, with the name, when the system user is missing
    root = Path(tempfile.mkdtemp(prefix="strata-pg-"))
    data = root / "data"
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    subprocess.run(
        [str(bin_dir / "initdb"), "-D", str(data), "-U", "strata", "--auth=trust", "--no-sync", "-E", "UTF8"],
        check=True, capture_output=True, cwd=root, user=user,
    )  # fmt: skip
    port = free_port()
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed when the server stops
    server = subprocess.Popen(
        [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1", "-k", str(root),
         "-c", "fsync=off", "-c", "max_connections=200"],
        stdout=log, stderr=subprocess.STDOUT, cwd=root, user=user,
    )  # fmt: skip
    try:
        import psycopg

        url = f"postgresql://strata@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + POSTGRES_START_S
        while True:
            try:
                psycopg.connect(url, connect_timeout=2).close()
                break
            except psycopg.OperationalError:  # not listening yet, or "the database system is starting up"
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"postgres did not start: {(root / 'server.log').read_text()[-2000:]}") from None
                time.sleep(0.1)
        yield url
    finally:
        stop(server)
        log.close()
        shutil.rmtree(root, ignore_errors=True)
