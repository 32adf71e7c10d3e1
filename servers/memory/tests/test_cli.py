"""The strata-memory command line: import, remember, recall and stats on a real store."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from strata.memory.__main__ import cli


def test_import_then_recall(tmp_path: Path) -> None:
    lines = [
        {"text": "Caroline went to an LGBTQ support group", "kind": "episode", "occurred_at": "2023-05-07T10:00:00"},
        {"text": "Melanie painted a sunrise last year", "scope": "user:melanie", "tags": ["art"]},
        {"text": "Caroline went to an LGBTQ support group", "kind": "episode"},
    ]
    source = tmp_path / "notes.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    store = ["--store", str(tmp_path / "store")]
    runner = CliRunner()
    imported = runner.invoke(cli, ["import", str(source), *store])
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.output) == {"read": 3, "new": 2, "duplicates": 1}
    recalled = runner.invoke(cli, ["recall", "who painted?", "--scope", "user:melanie", *store])
    assert json.loads(recalled.output)["hits"][0]["text"] == "Melanie painted a sunrise last year"
    stats = json.loads(runner.invoke(cli, ["stats", *store]).output)
    assert stats["memories"] == 2 and stats["by_scope"] == {"user": 1, "user:melanie": 1}


def test_a_bad_import_line_is_named_and_nothing_of_its_batch_is_stored(tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"text": "fine"}\n{"text": "bad scope", "scope": "galaxy"}\n')
    store = ["--store", str(tmp_path / "store")]
    runner = CliRunner()
    result = runner.invoke(cli, ["import", str(source), *store])
    assert result.exit_code == 1
    assert f"invalid_request: {source}:2: scope: String should match pattern" in result.output
    assert json.loads(runner.invoke(cli, ["stats", *store]).output)["memories"] == 0
