"""Settings of the codegraph server: ``[codegraph]`` in strata.toml and ``STRATA_CODEGRAPH_*`` variables."""

from __future__ import annotations

from pathlib import Path

from strata.shared.settings import ServerSettings

__all__ = ["CodegraphSettings"]


class CodegraphSettings(ServerSettings):
    """Where indexes live; flags override."""

    section = "codegraph"
    model_config = ServerSettings.model_config | {"env_prefix": "STRATA_CODEGRAPH_"}

    store_dir: Path | None = None  # default: <repo>/.strata

    def store_dir_for(self, repo: Path) -> Path:
        return self.store_dir if self.store_dir is not None else repo / ".strata"
