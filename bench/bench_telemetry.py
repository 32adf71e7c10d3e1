"""What telemetry costs the router: per-request overhead with spans off, to the local store, and also over OTLP.

The same fast loopback upstream and keep-alive load generator as bench_router.py's overhead section; three
strata-router processes started the same way, differing only in telemetry: `OTEL_SDK_DISABLED=true` (off), the
default (spans to the local SQLite store), and the default plus `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at an OTLP/HTTP
receiver on loopback (a minimal server that accepts and discards). Rounds are interleaved; medians of 3 rounds.
The issue's goal is at most 2% added with the local store.

Then `strata ask` (the demo request on a fresh copy of examples/acme-portal, `--yes --voice`, a fresh STRATA_HOME per
run so no run recalls another) with telemetry off, to the local store, and to the store plus OTLP: wall time, rounds
interleaved, median of 3.

    python bench/bench_telemetry.py [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_router as br

from strata.shared.testing import free_port

SAMPLED = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}
MODES = {
    "off": {"OTEL_SDK_DISABLED": "true"},
    "local store": {},
    "local store, 10% of untraced requests": SAMPLED,
    "local store + OTLP": {},
}
LEVELS = ((1, 2000), (32, 4000))
ROUNDS = 3
ROOT = Path(__file__).resolve().parent.parent
ASK_MODES = ("off", "local store", "local store + OTLP")
DEMO_REQUEST = (
    "find all places that authenticate against the legacy LDAP server and refactor them to use the new SSO module"
)


async def _receiver(port: int) -> None:
    """Accept OTLP/HTTP posts and answer 200 with an empty body (what a collector does, minus the work)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
                    0,
                )  # fmt: skip
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def run() -> dict[str, dict[int, dict[str, float]]]:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        up, otlp = free_port(), free_port()
        upstream = subprocess.Popen([sys.executable, br.__file__, "--serve-upstream", str(up)])
        receiver = subprocess.Popen([sys.executable, __file__, "--serve-receiver", str(otlp)])
        time.sleep(1.0)
        key = "sk-" + secrets.token_hex(24)
        routers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
        saved = dict(os.environ)
        try:
            for mode, env in MODES.items():
                os.environ.clear()
                os.environ.update(saved | env)
                if mode.endswith("OTLP"):
                    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{otlp}"
                home = tmp / "".join(c if c.isalnum() else "-" for c in mode)
                home.mkdir()
                routers[mode] = br.start_router(home, up, key)
            os.environ.clear()
            os.environ.update(saved)
            results: dict[str, dict[int, list[dict[str, float]]]] = {"direct": {}, **{m: {} for m in MODES}}
            targets = {"direct": (up, None), **{m: (port, key) for m, (_, port) in routers.items()}}
            for port, k in targets.values():
                br.load(port, "/v1/chat/completions", k, 8, 800)  # warm up
            for concurrency, total in LEVELS:
                for _ in range(ROUNDS):
                    for label, (port, k) in targets.items():
                        row = br.load(port, "/v1/chat/completions", k, concurrency, total)
                        results[label].setdefault(concurrency, []).append(row)
                        print(f"c={concurrency} {label}: {row}", file=sys.stderr)
        finally:
            os.environ.clear()
            os.environ.update(saved)
            for process, _ in routers.values():
                process.terminate()
                process.wait(timeout=30)
            for process in (upstream, receiver):
                process.terminate()
                process.wait(timeout=30)
    return {
        label: {c: {m: statistics.median(r[m] for r in rows) for m in ("p50_ms", "rps")} for c, rows in levels.items()}
        for label, levels in results.items()
    }


def ask_wall(otlp_port: int) -> dict[str, float]:
    """Median wall time of `strata ask` per telemetry mode (the OTLP receiver must be listening on ``otlp_port``)."""
    import shutil

    times: dict[str, list[float]] = {mode: [] for mode in ASK_MODES}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for round_ in range(ROUNDS):
            for mode in ASK_MODES:
                work = tmp / f"{round_}-{len(times[mode])}-{ASK_MODES.index(mode)}"
                shutil.copytree(ROOT / "examples" / "acme-portal", work / "acme-portal")
                env = {k: v for k, v in os.environ.items() if not k.startswith(("STRATA_", "OTEL_"))}
                env |= {"STRATA_HOME": str(work / "home"), **MODES[mode]}
                if mode.endswith("OTLP"):
                    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{otlp_port}"
                started = time.perf_counter()
                run = subprocess.run(
                    [str(Path(sys.executable).parent / "strata"), "ask", DEMO_REQUEST, "--repo",
                     str(work / "acme-portal"), "--yes", "--voice"],
                    env=env, capture_output=True, text=True, timeout=900, check=False, stdin=subprocess.DEVNULL,
                )  # fmt: skip
                if run.returncode != 0:
                    raise RuntimeError(f"strata ask failed ({mode}): {run.stdout[-500:]} {run.stderr[-500:]}")
                times[mode].append(time.perf_counter() - started)
                print(f"strata ask, {mode}: {times[mode][-1]:.1f} s", file=sys.stderr)
    return {mode: statistics.median(values) for mode, values in times.items()}


def report(results: dict[str, dict[int, dict[str, float]]], machine: str, ask: dict[str, float] | None = None) -> str:
    lines = [
        "## telemetry: what spans cost the router",
        "",
        "`python bench/bench_telemetry.py` — strata-router with telemetry off (`OTEL_SDK_DISABLED=true`), with spans to "
        "the local SQLite store (the default), the same with the SDK's standard sampler keeping 10% of requests that come "
        "without a trace (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`, `OTEL_TRACES_SAMPLER_ARG=0.1`; traced requests "
        "are always kept), and with the store plus OTLP/HTTP export to a receiver on loopback; each "
        "request makes two spans (`route`, `chat`). Added = p50 through the router minus direct to the upstream; "
        f"medians of {ROUNDS} interleaved rounds. Goal (issue 30): at most 2% added by the local store. Machine: {machine}.",
        "",
        "| telemetry | c=1 added p50 | c=1 req/s | c=32 added p50 | c=32 req/s |",
        "|---|---|---|---|---|",
    ]
    direct = results["direct"]
    off = results["off"]
    for mode in MODES:
        row = results[mode]
        cells = []
        for c, _ in LEVELS:
            added = row[c]["p50_ms"] - direct[c]["p50_ms"]
            base = off[c]["p50_ms"] - direct[c]["p50_ms"]
            change = "" if mode == "off" else f" ({added / base - 1:+.0%})"
            rps_change = "" if mode == "off" else f" ({row[c]['rps'] / off[c]['rps'] - 1:+.0%})"
            cells += [f"{added:.3f} ms{change}", f"{row[c]['rps']:.0f}{rps_change}"]
        lines.append(f"| {mode} | " + " | ".join(cells) + " |")
    lines.append("")
    if ask:
        off = ask["off"]
        lines += [
            f"`strata ask` (the demo request, `--yes --voice`, a fresh STRATA_HOME each run; median of {ROUNDS}, "
            "interleaved): " + ", ".join(
                f"{mode} {seconds:.2f} s" + ("" if mode == "off" else f" ({seconds / off - 1:+.1%})")
                for mode, seconds in ask.items()
            ) + ".",
            "",
        ]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", type=Path, default=None, help="Results file to update (docs/benchmarks.md)")
    parser.add_argument("--serve-receiver", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_receiver:
        asyncio.run(_receiver(args.serve_receiver))
        return
    router = run()
    otlp = free_port()
    receiver = subprocess.Popen([sys.executable, __file__, "--serve-receiver", str(otlp)])
    try:
        time.sleep(1.0)
        ask = ask_wall(otlp)
    finally:
        receiver.terminate()
        receiver.wait(timeout=30)
    text = report(router, br.machine(), ask)
    print(text)
    if args.write:
        from bench_llm import write_section

        write_section(args.write, text)


if __name__ == "__main__":
    main()
