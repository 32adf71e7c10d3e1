"""Indexing speed and query latency of strata-codegraph, with CodeGraphContext indexing the same tree.

Measured in one run on one tree (default: the running interpreter's Lib/ without site-packages;
`--packages email asyncio ...` takes a subset):
- cold index wall time and peak RSS: `strata-codegraph index` (median of `--runs`, default 3) vs `cgc --db kuzudb index` (CodeGraphContext,
  PyPI `codegraphcontext`, installed into ~/.cache/strata/bench/cgc-venv on first use) and `codegraph init -y`
  (CodeGraph, npm `@colbymchenry/codegraph`, installed into ~/.cache/strata/bench/codegraph-npm when npm is
  there; left out of the table when it cannot be installed);
- one-file updates: edit a file, `reindex` in the process that keeps the analysis (incremental);
- p50/p99 of search_symbols, find_callers depth 3 and task_context through the service layer.

Usage: python bench/bench_codegraph_speed.py [--packages email asyncio ...] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

CACHE = Path(os.environ.get("STRATA_BENCH_CACHE", Path.home() / ".cache" / "strata" / "bench"))
CGC_VENV = CACHE / "cgc-venv"
CODEGRAPH_NPM = CACHE / "codegraph-npm"
STRATA_CODEGRAPH = str(Path(sys.executable).parent / "strata-codegraph")
SKIP = {"site-packages", "__pycache__", "lib-dynload"}
QUERIES = ["Message", "parse", "run", "TestCase", "urlopen", "dumps", "Future", "wait_for", "header", "load"]


def make_tree(target: Path, packages: list[str]) -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    if packages:
        for name in packages:
            shutil.copytree(stdlib / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        for module in stdlib.glob("*.py"):
            shutil.copy(module, target / module.name)
        return
    shutil.copytree(
        stdlib,
        target,
        ignore=lambda d, names: [n for n in names if n in SKIP or n.startswith("config-")],
        dirs_exist_ok=True,
    )


def timed(
    command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float | None = None
) -> tuple[float, float] | None:
    """Wall seconds and peak RSS (MB) of one child process (GNU time reports its own peak); None on timeout."""
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        start = time.perf_counter()
        process = subprocess.Popen(
            ["/usr/bin/time", "-f", "%M", "-o", rss.name, *command],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the tool and every process it started
            process.wait()
            return None
        if code != 0:
            raise subprocess.CalledProcessError(code, command)
        wall = time.perf_counter() - start
        return wall, int(Path(rss.name).read_text().split()[-1]) / 1024


def codegraph_npm() -> Path | None:
    """CodeGraph's CLI from npm, or None when npm is missing or the install fails (offline)."""
    executable = CODEGRAPH_NPM / "node_modules" / ".bin" / "codegraph"
    npm = shutil.which("npm")
    if not executable.exists() and npm:
        CODEGRAPH_NPM.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "i", "--no-audit", "--no-fund", "--prefix", str(CODEGRAPH_NPM), "@colbymchenry/codegraph"],
            check=False,
            capture_output=True,
            timeout=600,
        )
    return executable if executable.exists() else None


def codegraph_counts(executable: Path, tree: Path) -> tuple[object, object]:
    """Nodes and edges of a CodeGraph index, from `codegraph status --json` (its own words for them)."""
    done = subprocess.run([str(executable), "status", "--json", str(tree)], capture_output=True, text=True, check=False)
    try:
        status = json.loads(done.stdout)
    except json.JSONDecodeError:
        return "?", "?"
    stats = status.get("stats", status) if isinstance(status, dict) else {}
    return stats.get("nodeCount", stats.get("nodes", "?")), stats.get("edgeCount", stats.get("edges", "?"))


def cgc() -> Path:
    executable = CGC_VENV / "bin" / "cgc"
    if not executable.exists():
        uv = shutil.which("uv") or str(Path(__file__).resolve().parents[1] / ".tools" / "bin" / "uv")
        subprocess.run([uv, "venv", "-q", "--python", "3.11", str(CGC_VENV)], check=True)
        subprocess.run(
            [uv, "pip", "install", "-q", "codegraphcontext"],
            check=True,
            env={**os.environ, "VIRTUAL_ENV": str(CGC_VENV)},
        )
    return executable


def latency(fn, n: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(n - 1, round(0.99 * (n - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", nargs="*", default=[], help="stdlib packages to index instead of all of Lib/")
    parser.add_argument("--write", type=Path, default=None)
    parser.add_argument("--peer-timeout", type=float, default=900, help="seconds CodeGraphContext may take")
    parser.add_argument("--runs", type=int, default=3, help="cold indexes of the tree by strata (median reported)")
    args = parser.parse_args()

    from strata.codegraph.pycalls import module_name_for
    from strata.codegraph.service import CodeGraph

    with tempfile.TemporaryDirectory() as tmp:
        ours_tree, their_tree, npm_tree = Path(tmp) / "ours", Path(tmp) / "theirs", Path(tmp) / "codegraph"
        make_tree(ours_tree, args.packages)
        shutil.copytree(ours_tree, their_tree)
        shutil.copytree(ours_tree, npm_tree)
        files = sum(1 for _ in ours_tree.rglob("*.py"))
        megabytes = sum(p.stat().st_size for p in ours_tree.rglob("*.py")) / 2**20

        # Wall times of one command vary by several seconds from run to run on this machine: strata's cold index runs
        # --runs times, each into a fresh store, after the copies above are flushed to disk; the median is reported.
        ours_runs: list[tuple[float, float]] = []
        for _ in range(max(1, args.runs)):
            shutil.rmtree(ours_tree / ".strata", ignore_errors=True)
            os.sync()
            run = timed([STRATA_CODEGRAPH, "index", str(ours_tree), "--json"])
            assert run is not None
            ours_runs.append(run)
        ours_wall = statistics.median(wall for wall, _ in ours_runs)
        ours_rss = max(rss for _, rss in ours_runs)
        walls = [f"{wall:.1f}" for wall in sorted(wall for wall, _ in ours_runs)]
        os.sync()
        env = {**os.environ, "HOME": str(Path(tmp) / "cgc-home")}
        theirs = timed(
            [str(cgc()), "--db", "kuzudb", "index", str(their_tree), "--no-progress"],
            cwd=their_tree,
            env=env,
            timeout=args.peer_timeout,
        )
        npm_cli = codegraph_npm()
        npm_run = npm_counts = None
        if npm_cli is not None:
            npm_env = {**os.environ, "HOME": str(Path(tmp) / "codegraph-home")}
            npm_run = timed([str(npm_cli), "init", "-y", str(npm_tree)], env=npm_env, timeout=args.peer_timeout)
            npm_counts = codegraph_counts(npm_cli, npm_tree) if npm_run else None

        graph = CodeGraph(ours_tree, ours_tree / ".strata")
        status = graph.status()
        start = time.perf_counter()
        graph.prepare()  # what `serve --watch` does at start: the analysis stays in memory
        prepare = time.perf_counter() - start
        updates, first_queries, flushes, rerun = [], [], [], []
        for touched in sorted(ours_tree.rglob("*.py"))[:: max(1, files // 5)][:5]:
            # an edit a person makes: a new helper that calls something the module already has
            text = touched.read_text()
            touched.write_text(
                text + "\n\ndef bench_added():\n    return bench_helper()\n\ndef bench_helper():\n    pass\n"
            )
            start = time.perf_counter()
            summary = graph.reindex()
            updates.append((time.perf_counter() - start) * 1000)
            assert summary.incremental, summary
            rerun.append(summary.rerun_scopes)
            start = time.perf_counter()
            added = f"{module_name_for(touched, ours_tree)}.bench_added"
            assert graph.calls(added, "callees", 1, 5).total == 1  # answered from the patched in-memory graph
            first_queries.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            graph.flush()  # the rest of the update: the store on disk, written behind
            flushes.append((time.perf_counter() - start) * 1000)

        graph.search("warm", [], 1)  # loads the in-memory graph once
        ids = [s.id for s in graph.search("get", ["function", "method"], 50).items]
        search = latency(lambda i: graph.search(QUERIES[i % len(QUERIES)], [], 20), 300)
        callers = latency(lambda i: graph.calls(ids[i % len(ids)], "callers", 3, 50), 300)
        context = latency(lambda i: graph.task_context("parse a header and decode its charset", 3000), 30)
        graph.close()

    tree = (
        "Lib/ of the running interpreter"
        if not args.packages
        else f"stdlib packages {' '.join(args.packages)} + top-level modules"
    )
    lines = [
        "## codegraph: indexing speed and query latency",
        "",
        f"Tree: {tree} ({files} files, {megabytes:.1f} MB). Machine: see the llm section. Command: "
        f"`python bench/bench_codegraph_speed.py{' --packages ' + ' '.join(args.packages) if args.packages else ''}`. "
        f"strata-codegraph's Python analysis: {status.python_analysis} (`index_status.python_analysis`; compiled = by mypyc, at install).",
        "",
        "| tool | cold index s | peak RSS MB | symbols | call edges |",
        "|---|---|---|---|---|",
        f"| strata-codegraph | {ours_wall:.1f} (median of {len(walls)}: {', '.join(walls)}) | {ours_rss:.0f} | "
        f"{status.symbols} | {status.calls} |",
        (
            f"| CodeGraphContext (kuzudb) | {theirs[0]:.1f} | {theirs[1]:.0f} | (its summary prints 0) | "
            "(its summary prints 0) |"
            if theirs
            else f"| CodeGraphContext (kuzudb) | did not finish in {args.peer_timeout:.0f} s (killed) | | | |"
        ),
        "",
        f"Ratio (CodeGraphContext / strata): {theirs[0] / ours_wall:.1f}x."
        if theirs
        else f"Ratio (CodeGraphContext / strata): more than {args.peer_timeout / ours_wall:.1f}x.",
        _npm_line(npm_cli, npm_run, npm_counts, ours_wall, args.peer_timeout),
        "",
        f"One-file update, incremental (`reindex` in a process that keeps the analysis, as `serve --watch` does; "
        f"analysing the tree into memory first took {prepare:.1f} s): five edits of five files, each adding two "
        f"functions, one calling the other. `reindex` returns once the in-memory graph that searches and call walks "
        f"answer from is patched: p50 {statistics.median(updates):.0f} ms, max {max(updates):.0f} ms (scopes re-run: "
        f"{', '.join(map(str, rerun))}); `find_callees` of the new function right after it: p50 "
        f"{statistics.median(first_queries):.1f} ms, max {max(first_queries):.1f} ms. The store on disk is written "
        f"behind it (tools that read the store wait for that): done p50 {statistics.median(flushes):.0f} ms, max "
        f"{max(flushes):.0f} ms after `reindex` returned.",
        "",
        "| query (service layer, no MCP transport) | p50 ms | p99 ms |",
        "|---|---|---|",
        f"| search_symbols | {search[0]:.2f} | {search[1]:.2f} |",
        f"| find_callers depth 3 | {callers[0]:.2f} | {callers[1]:.2f} |",
        f"| task_context (3000 tokens) | {context[0]:.2f} | {context[1]:.2f} |",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.write:
        from bench_llm import write_section

        write_section(args.write, report)


def _npm_line(
    cli: Path | None,
    run: tuple[float, float] | None,
    counts: tuple[object, object] | None,
    ours: float,
    limit: float,
) -> str:
    if cli is None:
        return "CodeGraph (npm `@colbymchenry/codegraph`): not installed (npm missing or offline)."
    if run is None or counts is None:
        return f"CodeGraph (npm, `codegraph init -y`): did not finish in {limit:.0f} s (killed); ratio above {limit / ours:.1f}x."
    return (
        f"CodeGraph (npm, `codegraph init -y`): {run[0]:.1f} s, "
        f"peak RSS {run[1]:.0f} MB, {counts[0]} nodes, {counts[1]} edges; ratio (CodeGraph / strata) "
        f"{run[0] / ours:.2f}x."
    )


if __name__ == "__main__":
    main()
