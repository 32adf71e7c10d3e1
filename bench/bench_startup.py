"""How long a client waits for each Strata server's tool list: spawn over stdio, MCP handshake, `tools/list`.

The peer, run in the same run and started the same way, is a bare FastMCP server with one tool (the floor every
Python MCP server on this machine pays: the interpreter and the MCP stack). Each server is timed alone (median of
`--runs`), then all five started at once, as a client that registers them all starts them (2 cores here), next to
five bare servers started at once.
The goal (issue 28): each server's tools/list within 2x the bare server's.

Usage: python bench/bench_startup.py [--runs 5] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from fastmcp import Client
from fastmcp.client.transports import StdioTransport

BIN = Path(sys.executable).parent
SERVERS = ("codegraph", "memory", "router", "llm", "voice")
BARE = '''from fastmcp import FastMCP

mcp = FastMCP("bare")


@mcp.tool
def echo(text: str) -> str:
    """Echo the text."""
    return text


if __name__ == "__main__":
    mcp.run(show_banner=False)
'''


def command(name: str, work: Path) -> tuple[str, list[str]]:
    if name == "bare FastMCP":
        return sys.executable, [str(work / "bare.py")]
    args = ["serve", "--repo", str(work / "repo")] if name == "codegraph" else ["serve"]
    return str(BIN / f"strata-{name}"), args


async def tools_list_seconds(name: str, work: Path, env: dict[str, str]) -> tuple[float, int]:
    executable, args = command(name, work)
    transport = StdioTransport(
        command=executable, args=args, env=env, keep_alive=False, log_file=work / f"{name.replace(' ', '-')}.log"
    )
    started = time.perf_counter()
    async with Client(transport, timeout=120) as client:
        tools = await client.list_tools()
        elapsed = time.perf_counter() - started
    return elapsed, len(tools)


async def together(names: list[str], work: Path, env: dict[str, str]) -> list[tuple[str, float]]:
    results: list[tuple[str, float]] = []

    async def one(name: str) -> None:
        results.append((name, (await tools_list_seconds(name, work, env))[0]))

    async with anyio.create_task_group() as group:
        for name in names:
            group.start_soon(one, name)
    return results


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, load average at start {os.getloadavg()[0]:.2f}"


async def run(runs: int) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "bare.py").write_text(BARE)
        (work / "repo").mkdir()
        (work / "repo" / "app.py").write_text("def main():\n    return helper()\n\n\ndef helper():\n    return 1\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")} | {"STRATA_HOME": str(work / "home")}
        header = machine()
        alone: dict[str, list[float]] = {}
        tools: dict[str, int] = {}
        for _ in range(runs):  # interleaved, so a slow moment of the machine falls on every server alike
            for name in ("bare FastMCP", *SERVERS):
                seconds, count = await tools_list_seconds(name, work, env)
                alone.setdefault(name, []).append(seconds)
                tools[name] = count
        crowd: dict[str, list[float]] = {}
        for _ in range(runs):
            for name, seconds in await together(list(SERVERS), work, env):
                crowd.setdefault(name, []).append(seconds)
            for name, seconds in await together(["bare FastMCP"] * len(SERVERS), work, env):
                crowd.setdefault(name, []).append(seconds)
    bare = statistics.median(alone["bare FastMCP"])
    bare_crowd = statistics.median(crowd["bare FastMCP"])
    lines = [
        "## startup: time to the tool list, next to a bare FastMCP server",
        "",
        f"Machine: {header}. Command: `python bench/bench_startup.py --runs {runs}`. Each server is spawned over "
        "stdio as a client spawns it, and timed from spawn to the `tools/list` reply (MCP handshake included), "
        f"median of {runs} runs; the bare FastMCP server (one tool, `python bare.py`) is the floor any Python MCP "
        "server pays here. *Together*: the five started at once, as a client that registers them all does, next to five "
        "bare servers started at once.",
        "",
        "| server | tools | alone: s (median) | × bare | five together: s (median) | × five bare together |",
        "|---|---|---|---|---|---|",
        f"| bare FastMCP | {tools['bare FastMCP']} | {bare:.2f} | 1.00 | {bare_crowd:.2f} | 1.00 |",
    ]
    for name in SERVERS:
        alone_s, crowd_s = statistics.median(alone[name]), statistics.median(crowd[name])
        lines.append(
            f"| strata-{name} | {tools[name]} | {alone_s:.2f} | {alone_s / bare:.2f} | {crowd_s:.2f} | "
            f"{crowd_s / bare_crowd:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    report = anyio.run(run, args.runs)
    print(report)
    if args.write:
        sys.path.insert(0, str(Path(__file__).parent))
        from bench_llm import write_section

        write_section(args.write, report)


if __name__ == "__main__":
    main()
