"""``strata up``: run the servers on streamable HTTP on loopback, supervised, with one generated token.

The state file (``<STRATA_HOME>/up.json``, mode 0600: it holds the token) says where each server
listens; ``strata ask``, ``strata status`` and ``strata down`` read it. A server that exits is started
again after a back-off that doubles from 1 s to 30 s and resets once it has stayed up for a minute.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import structlog
from pydantic import BaseModel

from strata.orchestrator.settings import DEFAULT_SERVERS, server_command
from strata.shared.process import pid_alive
from strata.shared.settings import load_config_section, user_dir

__all__ = [
    "DEFAULT_PORTS",
    "Supervisor",
    "UpServer",
    "UpState",
    "pid_alive",
    "read_state",
    "router_env_for_llm",
    "state_file",
]

log = structlog.get_logger("strata.up")
DEFAULT_PORTS = {"llm": 8101, "codegraph": 8102, "memory": 8103, "router": 8104, "voice": 8105}
HEALTH_TIMEOUT_S = 300.0
POLL_S = 0.5
BACKOFF_START_S, BACKOFF_MAX_S, STABLE_AFTER_S = 1.0, 30.0, 60.0
STOP_GRACE_S = 15.0


class UpServer(BaseModel):
    url: str
    port: int
    pid: int
    restarts: int = 0


class UpState(BaseModel):
    pid: int
    token: str
    repo: str
    started_at: float
    servers: dict[str, UpServer]


def state_file() -> Path:
    return user_dir() / "up.json"


def read_state() -> UpState | None:
    """The running set, or None when nothing runs (a state file whose supervisor died is stale)."""
    path = state_file()
    if not path.exists():
        return None
    try:
        state = UpState.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return state if pid_alive(state.pid) else None


def router_env_for_llm(llm_base_url: str, token: str | None) -> dict[str, str]:
    """Point the router's default ``local`` provider at a Strata llm server, unless the user set one."""
    if "local" in load_config_section("router").get("providers", {}):
        return {}
    env = {"STRATA_ROUTER_PROVIDERS__LOCAL__BASE_URL": llm_base_url}
    if token:
        env |= {
            "STRATA_ROUTER_PROVIDERS__LOCAL__API_KEY_ENV": "STRATA_LLM_UPSTREAM_TOKEN",
            "STRATA_LLM_UPSTREAM_TOKEN": token,
        }
    return env


def healthy(url: str, timeout_s: float = 2.0) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


class _Child:
    def __init__(self, name: str, port: int, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name, self.port, self.command, self.env, self.log_path = name, port, command, env, log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.restarts = 0
        self.backoff = BACKOFF_START_S
        self.restart_at: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.started_at = time.monotonic()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()


class Supervisor:
    """Starts, watches and stops the chosen servers; one instance per ``strata up``."""

    def __init__(self, names: list[str], repo: Path, *, base_port: int | None = None, log_dir: Path | None = None):
        unknown = [n for n in names if n not in DEFAULT_SERVERS]
        if unknown:
            raise ValueError(f"unknown server {', '.join(unknown)}; known: {', '.join(DEFAULT_SERVERS)}")
        self.names = [n for n in DEFAULT_PORTS if n in names]  # port order: llm first, the router needs it
        self.repo = repo.resolve()
        # $STRATA_TOKEN when set, so clients registered with `strata register --transport http` keep working.
        self.token = os.environ.get("STRATA_TOKEN") or secrets.token_urlsafe(32)
        first = min(DEFAULT_PORTS.values())
        self.ports = {n: p - first + (base_port if base_port is not None else first) for n, p in DEFAULT_PORTS.items()}
        self.log_dir = log_dir or user_dir() / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.children = [self._child(n) for n in self.names]
        self.stopping = False

    def _child(self, name: str) -> _Child:
        port = self.ports[name]
        command = [server_command(name), "serve", "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]
        if name == "codegraph":
            command += ["--repo", str(self.repo)]
        env = {**os.environ, "STRATA_TOKEN": self.token}
        if name == "router" and "llm" in self.names:
            env |= router_env_for_llm(f"http://127.0.0.1:{self.ports['llm']}/v1", self.token)
        return _Child(name, port, command, env, self.log_dir / f"{name}.log")

    def write_state(self) -> None:
        state = UpState(
            pid=os.getpid(), token=self.token, repo=str(self.repo), started_at=time.time(),
            servers={
                c.name: UpServer(url=f"{c.url}/mcp", port=c.port, pid=c.process.pid if c.process else 0, restarts=c.restarts)
                for c in self.children
            },
        )  # fmt: skip
        path = state_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(state.model_dump_json(indent=1), encoding="utf-8")
        tmp.chmod(0o600)
        os.replace(tmp, path)

    def start(self, on_ready: Callable[[str, str], None] | None = None) -> None:
        """Start every server and wait for its /healthz; on failure stop them all and raise."""
        for child in self.children:
            child.start()
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        pending = list(self.children)
        while pending:
            for child in list(pending):
                if child.process is not None and child.process.poll() is not None:
                    self.stop()
                    tail = child.log_path.read_text(errors="replace")[-800:]
                    raise RuntimeError(f"strata-{child.name} exited with {child.process.returncode}:\n{tail}")
                if healthy(child.url):
                    pending.remove(child)
                    if on_ready is not None:
                        on_ready(child.name, child.url)
            if pending and time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"not healthy within {HEALTH_TIMEOUT_S:g} s: {', '.join(c.name for c in pending)}")
            time.sleep(POLL_S)
        self.write_state()

    def watch_once(self, on_event: Callable[[str, str], None] | None = None) -> None:
        """One supervision tick: restart servers that exited, after their back-off."""
        now = time.monotonic()
        changed = False
        for child in self.children:
            process = child.process
            if process is None or self.stopping:
                continue
            if process.poll() is None:
                if now - child.started_at > STABLE_AFTER_S:
                    child.backoff = BACKOFF_START_S
                continue
            if child.restart_at is None:
                child.restart_at = now + child.backoff
                log.warning("server exited", server=child.name, code=process.returncode, restart_in_s=child.backoff)
                if on_event is not None:
                    on_event(child.name, f"exited with {process.returncode}; restarting in {child.backoff:g} s")
            elif now >= child.restart_at:
                child.restart_at = None
                child.backoff = min(child.backoff * 2, BACKOFF_MAX_S)
                child.restarts += 1
                child.start()
                changed = True
                if on_event is not None:
                    on_event(child.name, f"restarted (restart {child.restarts})")
        if changed:
            self.write_state()

    def run(self, on_event: Callable[[str, str], None] | None = None) -> None:
        """Supervise until SIGINT/SIGTERM, then stop everything."""

        def stop_signal(signum: int, _frame: object) -> None:
            self.stopping = True

        previous = {s: signal.signal(s, stop_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not self.stopping:
                self.watch_once(on_event)
                time.sleep(POLL_S)
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop(self) -> None:
        self.stopping = True
        for child in self.children:
            child.stop()
        deadline = time.monotonic() + STOP_GRACE_S
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        path = state_file()
        try:
            if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                path.unlink()
        except (OSError, ValueError):
            pass
