"""Strata's shared core: errors, settings, logging, the server runner and model locating.

Names load on first use (PEP 562), so importing ``strata.shared.errors`` does not pull in the runner
and fastmcp: ``strata --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "strata.shared.errors": [
        "BusyError",
        "ConfigError",
        "InvalidRequestError",
        "ModelNotFoundError",
        "NotFoundError",
        "StrataError",
        "UnauthorizedError",
        "UpstreamError",
    ],
    "strata.shared.log": ["configure_logging", "get_logger", "redact"],
    "strata.shared.models": ["BundledModel", "bundled_models", "locate_model"],
    "strata.shared.runner": ["Metrics", "RunnerSettings", "ServeOptions", "build_http_app", "create_mcp", "serve"],
    "strata.shared.settings": ["ServerSettings", "user_dir"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'strata.shared' has no attribute '{name}'")
    return getattr(importlib.import_module(module), name)
