"""Which servers a ``strata ask`` run talks to, and how.

Order of precedence per server: a ``[servers.<name>]`` table in strata.toml, else the HTTP server that
``strata up`` runs (its state file), else the installed ``strata-<name>`` over stdio. Over stdio the
codegraph server is started on ``--repo``. The router reaches models over HTTP (an OpenAI-compatible
``/v1``), so when no llm server is up and no ``[router.providers.local]`` is configured, the run
starts ``strata-llm`` on a free loopback port for the router and stops it at the end.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from strata.orchestrator.settings import OrchestratorSettings, ServerSpec, default_spec, server_command
from strata.orchestrator.up import healthy, read_state, router_env_for_llm
from strata.shared.process import stop
from strata.shared.settings import load_config_section

__all__ = ["TRACE_SERVERS", "Connections", "connections"]

TRACE_SERVERS = ("memory", "codegraph", "router", "voice")
LLM_START_TIMEOUT_S = 180.0


@dataclass
class Connections:
    specs: dict[str, ServerSpec]
    tokens: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def connections(repo: Path, *, voice: bool, log_dir: Path) -> Iterator[Connections]:
    """The specs (and tokens) for the trace's servers; a helper llm server lives as long as the block."""
    configured = OrchestratorSettings.load()
    specs = configured.resolved()
    state = read_state()
    conn = Connections(specs={})
    for name in TRACE_SERVERS:
        if name == "voice" and not voice:
            continue
        if name in configured.servers:
            if name in specs:
                conn.specs[name] = specs[name]
            continue
        if state is not None and name in state.servers:
            conn.specs[name] = ServerSpec(url=state.servers[name].url)
            conn.tokens[name] = state.token
            continue
        spec = default_spec(name)
        if name == "codegraph":
            spec = spec.model_copy(update={"args": ["serve", "--repo", str(repo)]})
        conn.specs[name] = spec
    if state is not None and any(name in state.servers for name in conn.specs):
        conn.notes.append(f"using the servers of `strata up` (pid {state.pid}) for: "
                          + ", ".join(n for n in conn.specs if n in state.servers))  # fmt: skip
    router = conn.specs.get("router")
    needs_llm = (
        router is not None
        and router.transport == "stdio"
        and "router" not in configured.servers
        and "local" not in load_config_section("router").get("providers", {})
    )
    if not needs_llm:
        yield conn
        return
    llm = specs.get("llm")
    if llm is not None and llm.url is not None:  # configured HTTP llm
        token = os.environ.get(llm.token_env) if llm.token_env else None
        env = router_env_for_llm(llm.url.rsplit("/mcp", 1)[0] + "/v1", token)
        conn.specs["router"] = router.model_copy(update={"env": {**router.env, **env}})  # type: ignore[union-attr]
        yield conn
        return
    if state is not None and "llm" in state.servers:
        env = router_env_for_llm(state.servers["llm"].url.rsplit("/mcp", 1)[0] + "/v1", state.token)
        conn.specs["router"] = router.model_copy(update={"env": {**router.env, **env}})  # type: ignore[union-attr]
        yield conn
        return
    with _helper_llm(log_dir) as (base_url, token):
        if base_url:
            env = router_env_for_llm(base_url, token)
            conn.specs["router"] = router.model_copy(update={"env": {**router.env, **env}})  # type: ignore[union-attr]
            conn.notes.append(f"started strata-llm for the router at {base_url}")
        else:
            conn.notes.append(f"strata-llm did not start (see {log_dir / 'llm-helper.log'}): the router has no model")
        yield conn


@contextmanager
def _helper_llm(log_dir: Path) -> Iterator[tuple[str, str]]:
    port, token = _free_port(), secrets.token_urlsafe(24)
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "llm-helper.log").open("ab") as out:
        process = subprocess.Popen(
            [server_command("llm"), "serve", "--transport", "http", "--host", "127.0.0.1", "--port", str(port)],
            env={**os.environ, "STRATA_TOKEN": token}, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + LLM_START_TIMEOUT_S
        while not healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                yield "", ""
                return
            time.sleep(0.2)
        yield f"{url}/v1", token
    finally:
        stop(process, timeout=15)
