"""The codemod the edit agents drive: every import style, partial choices, and what it refuses."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

from strata.orchestrator.agent.codemod import CodemodError, Target, module_of, switch_calls, use_sites

OLD = Target("acme.auth.ldap_helper", "ldap_authenticate")
NEW = Target("acme.auth.sso", "sso_authenticate")


def test_module_of() -> None:
    assert module_of("acme/auth/sso.py") == "acme.auth.sso"
    assert module_of("acme/auth/__init__.py") == "acme.auth"


def test_from_import_every_site_rewritten_and_import_swapped() -> None:
    source = (
        "from acme.auth.ldap_helper import ldap_authenticate\n\n"
        "def a(u, p):\n    return ldap_authenticate(u, p)\n\n"
        "def b(u, p):\n    return ldap_authenticate(u, p) is not None\n"
    )
    assert use_sites(source, "app/x.py", OLD) == [4, 7]
    edit = switch_calls("app/x.py", source, OLD, NEW, {4, 7})
    assert edit.after == source.replace("ldap_helper import ldap_authenticate", "sso import sso_authenticate").replace(
        "ldap_authenticate(", "sso_authenticate("
    )
    assert edit.rewritten == [4, 7]
    assert edit.diff.startswith("--- a/app/x.py\n+++ b/app/x.py\n")


def test_kept_site_keeps_the_old_import_and_adds_the_new_one_after_it() -> None:
    source = (
        "from acme.auth.ldap_helper import ldap_authenticate\n\n"
        "def a(u, p):\n    return ldap_authenticate(u, p)\n\n"
        "def b(u, p):\n    return ldap_authenticate(u, p)\n"
    )
    after = switch_calls("app/x.py", source, OLD, NEW, {4}).after
    assert after.splitlines()[:2] == [
        "from acme.auth.ldap_helper import ldap_authenticate",
        "from acme.auth.sso import sso_authenticate",
    ]
    assert "return sso_authenticate(u, p)" in after and "return ldap_authenticate(u, p)" in after


def test_alias_is_kept_when_every_use_moves() -> None:
    source = "from acme.auth.ldap_helper import ldap_authenticate as check\n\nok = check('a', 'b')\n"
    after = switch_calls("app/x.py", source, OLD, NEW, {3}).after
    assert after == "from acme.auth.sso import sso_authenticate as check\n\nok = check('a', 'b')\n"


def test_module_attribute_style_is_mirrored_and_module_import_kept_while_still_used() -> None:
    source = (
        "from acme.auth import ldap_helper\n\n"
        "ok = ldap_helper.ldap_authenticate('a', 'b')\n"
        "where = ldap_helper.LDAP_SERVER\n"
    )
    after = switch_calls("app/x.py", source, OLD, NEW, {3}).after
    assert after == (
        "from acme.auth import ldap_helper\nfrom acme.auth import sso\n\n"
        "ok = sso.sso_authenticate('a', 'b')\n"
        "where = ldap_helper.LDAP_SERVER\n"
    )


def test_plain_import_and_relative_import() -> None:
    plain = "import acme.auth.ldap_helper\n\nok = acme.auth.ldap_helper.ldap_authenticate('a', 'b')\n"
    assert switch_calls("app/x.py", plain, OLD, NEW, {3}).after == (
        "import acme.auth.sso\n\nok = acme.auth.sso.sso_authenticate('a', 'b')\n"
    )
    relative = "from .ldap_helper import ldap_authenticate\n\nok = ldap_authenticate('a', 'b')\n"
    after = switch_calls("acme/auth/views.py", relative, OLD, NEW, {3}).after
    assert after == "from acme.auth.sso import sso_authenticate\n\nok = sso_authenticate('a', 'b')\n"


def test_mixed_import_statement_keeps_the_other_names() -> None:
    source = (
        "from acme.auth.ldap_helper import LDAP_SERVER, ldap_authenticate\n\nok = ldap_authenticate(LDAP_SERVER, 'b')\n"
    )
    after = switch_calls("app/x.py", source, OLD, NEW, {3}).after
    assert after.splitlines()[:2] == [
        "from acme.auth.ldap_helper import LDAP_SERVER",
        "from acme.auth.sso import sso_authenticate",
    ]
    ast.parse(after)


def test_no_chosen_line_changes_nothing_and_an_unrelated_name_is_untouched() -> None:
    source = "def ldap_authenticate(u, p):\n    return True\n\nok = ldap_authenticate('a', 'b')\n"
    assert use_sites(source, "app/x.py", OLD) == []  # a local function of the same name is not the target
    edit = switch_calls("app/x.py", source, OLD, NEW, {4})
    assert edit.after == source and edit.diff == ""


def test_refuses_a_name_clash_and_a_file_that_does_not_parse() -> None:
    clash = "from acme.auth.ldap_helper import ldap_authenticate\n\nsso_authenticate = 1\nok = ldap_authenticate('a', 'b')\n"
    with pytest.raises(CodemodError, match="already used"):
        switch_calls("app/x.py", clash, OLD, NEW, {4})
    with pytest.raises(CodemodError, match="does not parse"):
        use_sites("def broken(:\n", "app/x.py", OLD)


def test_the_diff_applies_with_patch(tmp_path: Path) -> None:
    source = "from acme.auth.ldap_helper import ldap_authenticate\n\nok = ldap_authenticate('a', 'b')\n"
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "x.py").write_text(source)
    edit = switch_calls("app/x.py", source, OLD, NEW, {3})
    done = subprocess.run(["patch", "-p1"], input=edit.diff, text=True, cwd=tmp_path, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "app" / "x.py").read_text() == edit.after
