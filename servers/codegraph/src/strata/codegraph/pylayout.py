"""Where a repository's Python packages start: module names follow the import system, not the directory tree.

``src/shop/m.py`` is module ``shop.m`` when ``src`` holds the top package (the `src/` layout): a test's
``from shop.m import main`` must reach it. Source roots are read from the root ``pyproject.toml`` (setuptools
``packages.find.where`` and ``package-dir``, hatch wheel ``packages``, poetry ``packages[].from``, uv's build backend
``module-root``), and every directory named ``src`` that holds a regular package (one with ``__init__.py``) and is not a
package itself is one too. Anything else is named from the repository root, as before.
"""

from __future__ import annotations

import posixpath
import tomllib
from collections.abc import Iterable
from pathlib import Path

from strata.codegraph.pycalls import module_name_for

__all__ = ["PythonLayout"]


class PythonLayout:
    """The source roots of one repository (repository-relative directories, "" for the root itself)."""

    def __init__(self, roots: Iterable[str]) -> None:
        self.roots = sorted({r.strip("/") for r in roots if r.strip("/") not in ("", ".")}, key=len, reverse=True)

    @classmethod
    def read(cls, root: Path, python_files: Iterable[str]) -> PythonLayout:
        files = set(python_files)
        roots = set(_declared_roots(root))
        for path in files:
            parts = path.split("/")
            # src/<package>/__init__.py with no src/__init__.py: `src` holds a top package
            for i, part in enumerate(parts[:-2]):
                if part == "src" and parts[-1] == "__init__.py" and len(parts) == i + 3:
                    candidate = "/".join(parts[: i + 1])
                    if f"{candidate}/__init__.py" not in files:
                        roots.add(candidate)
        return cls(r for r in roots if _holds_packages(r, files))

    def module_name(self, root: Path, relative: str) -> str:
        """The module a repository-relative ``.py`` file is imported as."""
        for source_root in self.roots:
            if relative.startswith(source_root + "/"):
                return module_name_for(root / relative, root / source_root)
        return module_name_for(root / relative, root)


def _holds_packages(source_root: str, files: set[str]) -> bool:
    prefix = source_root + "/"
    return any(f.startswith(prefix) for f in files)


def _declared_roots(root: Path) -> list[str]:
    """Source roots the root pyproject.toml names (unreadable or absent: none)."""
    try:
        config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    tool = config.get("tool", {}) if isinstance(config.get("tool"), dict) else {}
    found: list[str] = []
    setuptools = tool.get("setuptools", {}) if isinstance(tool.get("setuptools"), dict) else {}
    packages = setuptools.get("packages")
    if isinstance(packages, dict) and isinstance(packages.get("find"), dict):
        where = packages["find"].get("where", [])
        found += [w for w in where if isinstance(w, str)] if isinstance(where, list) else []
    package_dir = setuptools.get("package-dir")
    if isinstance(package_dir, dict) and isinstance(package_dir.get(""), str):
        found.append(package_dir[""])
    hatch = tool.get("hatch", {}) if isinstance(tool.get("hatch"), dict) else {}
    wheel = hatch.get("build", {}).get("targets", {}).get("wheel", {}) if isinstance(hatch.get("build"), dict) else {}
    if isinstance(wheel, dict) and isinstance(wheel.get("packages"), list):
        found += [posixpath.dirname(p.rstrip("/")) for p in wheel["packages"] if isinstance(p, str)]
    poetry = tool.get("poetry", {}) if isinstance(tool.get("poetry"), dict) else {}
    if isinstance(poetry.get("packages"), list):
        found += [p["from"] for p in poetry["packages"] if isinstance(p, dict) and isinstance(p.get("from"), str)]
    uv = tool.get("uv", {}) if isinstance(tool.get("uv"), dict) else {}
    backend = uv.get("build-backend", {}) if isinstance(uv.get("build-backend"), dict) else {}
    if isinstance(backend.get("module-root"), str):
        found.append(backend["module-root"])
    return [posixpath.normpath(f) for f in found if f and not f.startswith(("/", ".."))]
