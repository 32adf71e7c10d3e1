from pathlib import Path

import pytest
from pydantic import Field

from strata.shared.errors import ConfigError
from strata.shared.settings import ServerSettings, config_files, load_config_section, user_dir


class DemoSettings(ServerSettings):
    section = "demo"
    model_config = ServerSettings.model_config | {"env_prefix": "STRATA_DEMO_"}

    threads: int = 1
    name: str = "default"
    nested: dict[str, int] = Field(default_factory=dict)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_without_any_config(project: Path) -> None:
    s = DemoSettings()
    assert (s.threads, s.name) == (1, "default")


def test_project_file_section_is_read(project: Path) -> None:
    (project / "strata.toml").write_text('[demo]\nthreads = 3\nname = "proj"\n[other]\nthreads = 9\n')
    assert (DemoSettings().threads, DemoSettings().name) == (3, "proj")


def test_precedence_flag_over_env_over_project_over_user(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (user_dir()).mkdir(parents=True, exist_ok=True)
    (user_dir() / "strata.toml").write_text('[demo]\nthreads = 2\nname = "user"\n[demo.nested]\na = 1\nb = 1\n')
    (project / "strata.toml").write_text("[demo]\nthreads = 3\n[demo.nested]\nb = 2\n")
    s = DemoSettings()
    assert (s.threads, s.name, s.nested) == (3, "user", {"a": 1, "b": 2})
    monkeypatch.setenv("STRATA_DEMO_THREADS", "4")
    assert DemoSettings().threads == 4
    assert DemoSettings(threads=5).threads == 5


def test_strata_config_points_at_another_project_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = project / "elsewhere.toml"
    other.write_text("[demo]\nthreads = 7\n")
    monkeypatch.setenv("STRATA_CONFIG", str(other))
    assert config_files() == [other]
    assert DemoSettings().threads == 7


def test_broken_toml_is_a_config_error_naming_the_file(project: Path) -> None:
    (project / "strata.toml").write_text("[demo\nthreads = ")
    with pytest.raises(ConfigError, match=r"strata\.toml"):
        DemoSettings()


def test_section_that_is_not_a_table_is_refused(project: Path) -> None:
    (project / "strata.toml").write_text('demo = "x"\n')
    with pytest.raises(ConfigError, match=r"\[demo\].*must be a table"):
        load_config_section("demo")
