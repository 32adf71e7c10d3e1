"""Which servers the orchestrator talks to: ``[servers.<name>]`` tables in strata.toml.

    [servers.codegraph]                 # stdio: the orchestrator starts the process
    command = "strata-codegraph"
    args = ["serve"]
    env = { STRATA_CODEGRAPH_REPO = "." }

    [servers.memory]                    # HTTP: a server someone else runs
    url = "http://127.0.0.1:8103/mcp"
    token_env = "STRATA_TOKEN"          # the bearer token is read from this variable

Without any table the five Strata servers are used over stdio, each from the same environment as
``strata`` itself. A table for one of the five replaces its default; ``enabled = false`` drops it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from strata.shared.errors import ConfigError
from strata.shared.settings import CONFIG_FILENAME, load_config_section, user_dir

__all__ = [
    "DEFAULT_SERVERS", "OrchestratorSettings", "Profile", "ServerSpec", "load_profile", "server_command",
]  # fmt: skip

DEFAULT_SERVERS = ("codegraph", "memory", "router", "llm", "voice")


class ServerSpec(BaseModel):
    """How to reach one server: ``command`` (+ ``args``, ``env``, ``cwd``) for stdio, or ``url`` for HTTP."""

    model_config = ConfigDict(extra="forbid")

    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: Path | None = None
    url: str | None = Field(default=None, pattern=r"^https?://")
    token_env: str | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _one_transport(self) -> ServerSpec:
        if self.enabled and (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of command (stdio) or url (HTTP)")
        return self

    @property
    def transport(self) -> Literal["stdio", "http"]:
        return "stdio" if self.command is not None else "http"

    @property
    def target(self) -> str:
        return self.url if self.url is not None else " ".join([self.command or "", *self.args]).strip()


def server_command(name: str) -> str:
    """``strata-<name>`` next to this Python (a venv's bin), else on PATH, else the bare name."""
    script = f"strata-{name}"
    beside = Path(sys.executable).parent / script
    return str(beside) if beside.exists() else (shutil.which(script) or script)


def default_spec(name: str) -> ServerSpec:
    """The server over stdio, started from :func:`server_command`."""
    return ServerSpec(command=server_command(name), args=["serve"])


class OrchestratorSettings(BaseModel):
    """The ``[servers]`` section of strata.toml: every key is a server name."""

    model_config = ConfigDict(extra="forbid")

    servers: dict[str, ServerSpec] = Field(default_factory=dict)

    @classmethod
    def load(cls) -> OrchestratorSettings:
        """Read ``[servers]`` from the user and project strata.toml (project wins)."""
        return cls(servers=load_config_section("servers"))

    def resolved(self) -> dict[str, ServerSpec]:
        """The defaults overlaid with the configured servers, disabled ones dropped, in a stable order."""
        specs = {name: default_spec(name) for name in DEFAULT_SERVERS}
        specs.update(self.servers)
        return {name: spec for name, spec in specs.items() if spec.enabled}


class Profile(BaseModel):
    """A named set of servers and how to register them (strata.toml ``[profiles.<name>]``)::

    [profiles.lean]
    servers = ["codegraph", "memory"]
    transport = "stdio"          # or "http": point at `strata up`
    scope = "project"            # optional: the client's default otherwise
    """

    model_config = ConfigDict(extra="forbid")

    servers: list[Literal["codegraph", "memory", "router", "llm", "voice"]] = Field(min_length=1, max_length=5)
    transport: Literal["stdio", "http"] = "stdio"
    scope: Literal["project", "user", "local"] | None = None


def load_profile(name: str, repo: Path) -> Profile:
    """``[profiles.<name>]`` from the user's strata.toml and the project's (``<repo>/strata.toml`` wins)."""
    files = [p for p in (user_dir() / CONFIG_FILENAME, repo / CONFIG_FILENAME) if p.is_file()]
    profiles = load_config_section("profiles", files)
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        where = " or ".join(str(p) for p in (user_dir() / CONFIG_FILENAME, repo / CONFIG_FILENAME))
        raise ConfigError(f"no profile '{name}' in {where} (profiles there: {known})")
    try:
        return Profile.model_validate(profiles[name])
    except ValueError as exc:
        raise ConfigError(f"[profiles.{name}] is not a valid profile: {exc}") from exc
