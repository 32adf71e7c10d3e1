"""How ``strata ask`` runs a trace: strata.toml ``[orchestrator]``, env ``STRATA_ORCHESTRATOR_*``."""

from __future__ import annotations

from pydantic import Field

from strata.shared.settings import ServerSettings

__all__ = ["AskSettings"]


class AskSettings(ServerSettings):
    """How ``strata ask`` runs a trace (strata.toml ``[orchestrator]``, env ``STRATA_ORCHESTRATOR_*``)."""

    section = "orchestrator"
    model_config = ServerSettings.model_config | {"env_prefix": "STRATA_ORCHESTRATOR_"}

    route: str = Field(default="default", min_length=1, description="Router route or model for plan and edits")
    escalate_to: str | None = Field(
        default=None, description="Router model to ask when the local answer keeps failing the checks"
    )
    max_retries: int = Field(default=2, ge=0, le=10, description="Retries of a failed tool call or LLM answer")
    test_command: list[str] | None = Field(default=None, description="Argv of the repo's tests (else detected)")
    test_timeout_s: float = Field(default=900.0, gt=0, le=7200)
    tool_timeout_s: float = Field(default=300.0, gt=0, le=3600, description="Longest one tool call may take")
    connect_timeout_s: float = Field(default=120.0, gt=0, le=600)
    max_files: int = Field(default=20, ge=1, le=200, description="Most files one run edits")
    max_sites: int = Field(default=40, ge=1, le=500, description="Most call sites per file shown to an edit agent")
    voice: str | None = Field(default=None, description="Voice id for the announcement (server default if unset)")
