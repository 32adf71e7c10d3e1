"""The strata-voice command line, run through click's CliRunner on the real models."""

from __future__ import annotations

import json
from pathlib import Path

import jiwer
from click.testing import CliRunner

from strata.voice.__main__ import cli

from .conftest import SENTENCES, normalise  # type: ignore[import-not-found]


def test_speak_to_a_file_then_transcribe_it(tmp_path: Path) -> None:
    out = tmp_path / "done.ogg"
    runner = CliRunner()
    spoken = runner.invoke(cli, ["speak", SENTENCES[1], "-o", str(out), "--deterministic", "--threads", "1"])
    assert spoken.exit_code == 0, spoken.output
    assert out.read_bytes()[:4] == b"OggS" and str(out.resolve()) in spoken.output and "22050 Hz" in spoken.output
    heard = runner.invoke(cli, ["transcribe", str(out), "--json"])
    assert heard.exit_code == 0, heard.output
    transcript = json.loads(heard.output)
    assert jiwer.wer(normalise(SENTENCES[1]), normalise(transcript["text"])) < 0.25


def test_voices_lists_engines_and_whisper_models() -> None:
    result = CliRunner().invoke(cli, ["voices"])
    assert result.exit_code == 0
    assert "piper:en_US-joe-medium\ten_US\t22050 Hz" in result.output and "kokoro:jm_kumo\tja" in result.output
    assert "whisper tiny.en" in result.output and "whisper base" in result.output


def test_errors_are_one_line_and_exit_non_zero(tmp_path: Path) -> None:
    runner = CliRunner()
    unknown = runner.invoke(cli, ["speak", "hi", "--voice", "nobody"])
    assert unknown.exit_code == 1 and "unknown_voice: no voice 'nobody'" in unknown.output
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF0000WAVEjunk" * 8)
    corrupt = runner.invoke(cli, ["transcribe", str(bad)])
    assert corrupt.exit_code == 1 and "bad_audio: cannot decode" in corrupt.output
    wrong = runner.invoke(cli, ["speak", "hi", "-o", str(tmp_path / "x.aiff")])
    assert wrong.exit_code == 2 and "cannot write .aiff" in wrong.output
