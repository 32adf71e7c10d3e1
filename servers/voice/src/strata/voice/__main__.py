"""``strata-voice``: serve speech tools over MCP, or speak / transcribe / list voices from the shell."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anyio
import click

from strata.shared.cli import report_errors, serve_options
from strata.shared.log import configure_logging
from strata.shared.runner import Metrics, serve, serve_options_from
from strata.voice.settings import VoiceSettings

__all__ = ["main"]

DEFAULT_PORT = 8105


def _settings(**overrides: Any) -> VoiceSettings:
    """Settings from env and strata.toml, then flags on top (flag > env > file > default)."""
    return VoiceSettings(**{k: v for k, v in overrides.items() if v is not None})


threads_option = click.option("--threads", type=click.IntRange(1, 64), default=None, help="Threads for TTS and ASR")


@click.group(invoke_without_command=True)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Strata voice: on-device text to speech (Piper, Kokoro, Supertonic) and speech to text (faster-whisper).

    Without a command it serves MCP over stdio, which is what coding agents start.

    \b
    Example usage:

        strata-voice serve --transport http --port 8105
        strata-voice speak "Refactor complete, 3 files changed" -o done.wav
        strata-voice transcribe meeting.ogg
        strata-voice voices
    """
    # Defence in depth: nothing here may reach a model hub, even through a library default.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if ctx.invoked_subcommand is None:
        ctx.invoke(serve_cmd)


@cli.command(name="serve")
@serve_options(default_port=DEFAULT_PORT)
@threads_option
@click.option("--preload/--no-preload", default=None, help="Load the default voice and Whisper model at start")
@report_errors
def serve_cmd(
    transport: str = "stdio",
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    token: str | None = None,
    log_level: str = "info",
    threads: int | None = None,
    preload: bool | None = None,
) -> None:
    """Serve MCP (stdio, or HTTP with /mcp, /healthz, /metrics).

    \b
    Example usage:

        strata-voice serve --transport http --host 127.0.0.1 --port 8105 --preload
    """
    from strata.voice.server import create_server
    from strata.voice.service import VoiceService

    configure_logging(log_level)
    settings = _settings(tts_threads=threads, asr_threads=threads, preload=["tts", "asr"] if preload else None)
    options = serve_options_from(transport, host, port, token)  # type: ignore[arg-type]
    options.check()
    metrics = Metrics()
    serve(create_server(VoiceService(settings), metrics), options, metrics)


@cli.command(name="speak")
@click.argument("text")
@click.option("--voice", "-v", default=None, help="Voice id (see `strata-voice voices`)")
@click.option("--speed", type=click.FloatRange(0.5, 2.0), default=1.0, show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write here")
@click.option(
    "--format", "fmt", type=click.Choice(["wav", "ogg", "flac", "mp3"]), default=None, help="Default: from -o"
)
@click.option("--deterministic", is_flag=True, help="Identical audio for identical input")
@threads_option
@report_errors
def speak_cmd(
    text: str,
    voice: str | None,
    speed: float,
    output: Path | None,
    fmt: str | None,
    deterministic: bool,
    threads: int | None,
) -> None:
    """Say TEXT into an audio file and print its path, duration and speed.

    \b
    Example usage:

        strata-voice speak "Refactor complete, 3 files changed, 0 test failures" -o done.ogg
        strata-voice speak "今日は天気がいいですね。" --voice kokoro:jf_alpha
    """
    from strata.voice.service import SpeechRequest, VoiceService

    configure_logging("warning")
    fmt = fmt or (output.suffix[1:].lower() if output is not None and output.suffix else "wav")
    if fmt not in ("wav", "ogg", "flac", "mp3"):
        raise click.BadParameter(f"cannot write .{fmt}; use wav, ogg, flac or mp3", param_hint="--output")
    service = VoiceService(_settings(tts_threads=threads))
    request = SpeechRequest(text=text, voice=voice, speed=speed, format=fmt, deterministic=deterministic)  # type: ignore[arg-type]
    speech, data = anyio.run(service.speak, request)
    if output is not None:
        output.write_bytes(data)
        speech = speech.model_copy(update={"path": str(output.resolve())})
    click.echo(f"{speech.path}\t{speech.duration_s:.2f} s\t{speech.sample_rate} Hz\tRTF {speech.real_time_factor:.3f}")


@cli.command(name="transcribe")
@click.argument("audio", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "-m", default=None, help="tiny.en (default), base, or a CTranslate2 directory")
@click.option("--language", "-l", default=None, help="Language code; detected if omitted")
@click.option("--no-vad", is_flag=True, help="Decode silence too")
@click.option("--json", "as_json", is_flag=True, help="Segments and timings as JSON")
@threads_option
@report_errors
def transcribe_cmd(
    audio: Path, model: str | None, language: str | None, no_vad: bool, as_json: bool, threads: int | None
) -> None:
    """Print the text spoken in AUDIO (any format FFmpeg reads).

    \b
    Example usage:

        strata-voice transcribe standup.ogg
        strata-voice transcribe interview.mp3 --model base --language de --json
    """
    from strata.voice.asr import TranscribeOptions
    from strata.voice.service import VoiceService

    configure_logging("warning")
    # A file named on the command line is the user's own choice: no audio_roots restriction here.
    settings = _settings(asr_threads=threads)
    service = VoiceService(settings)
    options = TranscribeOptions(
        model=model or settings.asr_model,
        language=language,
        vad=not no_vad and settings.vad,
        beam_size=settings.beam_size,
    )
    transcript = anyio.run(lambda: service.transcribe(audio, options))
    click.echo(transcript.model_dump_json(indent=2) if as_json else transcript.text)


@cli.command(name="voices")
@click.option("--json", "as_json", is_flag=True)
@report_errors
def voices_cmd(as_json: bool) -> None:
    """List the voices and Whisper models installed here.

    \b
    Example usage:

        strata-voice voices
    """
    from strata.voice.service import VoiceService

    service = VoiceService(_settings())
    voices = service.list_voices()
    models = service.whisper.models()
    if as_json:
        click.echo(
            json.dumps(
                {"voices": [v.model_dump() for v in voices], "asr_models": [m.model_dump() for m in models]}, indent=2
            )
        )
        return
    for v in voices:
        state = "" if v.available else f"\tunavailable: {v.note}"
        click.echo(f"{v.id}\t{v.language}\t{v.sample_rate} Hz\t{v.license}{state}")
    for m in models:
        state = "" if m.available else f"\tunavailable: {m.note}"
        click.echo(f"whisper {m.name}\t{m.languages}\t{m.license}{state}")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
