"""Call-graph accuracy on PyCG's micro-benchmark, Strata's codegraph side by side with PyCG itself.

The suite (118 cases in 18 categories, each with the expected call graph) ships in PyCG's sdist on PyPI;
it is downloaded once into ~/.cache/strata/bench. PyCG's wheel is broken (it installs PyCG/ but imports
pycg), so PyCG runs from the unpacked sdist: PYTHONPATH=<sdist> python -m pycg --package CASE CASE/main.py.

Edge precision = correct edges / edges reported; recall = correct edges / expected edges; a case is
exact when both edge sets are equal.

Usage: python bench/bench_codegraph_accuracy.py [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from strata.codegraph.pycalls import analyze_sources, load_project

CACHE = Path(os.environ.get("STRATA_BENCH_CACHE", Path.home() / ".cache" / "strata" / "bench"))
PYPI_SIMPLE = "https://pypi.org/simple/pycg/"

Edges = set[tuple[str, str]]


def suite() -> Path:
    """The unpacked PyCG sdist (downloaded from PyPI on first use)."""
    target = CACHE / "pycg-0.0.8"
    if not (target / "micro-benchmark").is_dir():
        import hashlib

        import httpx

        CACHE.mkdir(parents=True, exist_ok=True)
        index = httpx.get(PYPI_SIMPLE, headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=60)
        sdist = next(f for f in index.raise_for_status().json()["files"] if f["filename"] == "pycg-0.0.8.tar.gz")
        data = httpx.get(sdist["url"], timeout=120, follow_redirects=True).raise_for_status().content
        if hashlib.sha256(data).hexdigest() != sdist["hashes"]["sha256"]:
            raise SystemExit("PyCG sdist checksum mismatch")
        archive_path = CACHE / sdist["filename"]
        archive_path.write_bytes(data)
        with tarfile.open(archive_path) as archive:
            archive.extractall(CACHE, filter="data")
    return target


def edges(graph: dict[str, list[str]]) -> Edges:
    return {(caller, callee) for caller, callees in graph.items() for callee in callees}


def strata_graph(case: Path) -> dict[str, list[str]]:
    return analyze_sources(load_project(case, sorted(case.rglob("*.py")))).call_graph()


def pycg_graph(case: Path, sdist: Path) -> dict[str, list[str]]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, "PYTHONPATH": str(sdist)}
        entry = [str(p) for p in sorted(case.rglob("*.py")) if p.name == "main.py"]
        subprocess.run(
            [sys.executable, "-m", "pycg", "--package", str(case), *entry, "-o", out.name],
            check=True,
            env=env,
            capture_output=True,
        )
        result: dict[str, list[str]] = json.loads(Path(out.name).read_text())
        return result


def score(rows: list[tuple[str, Edges, Edges]]) -> dict[str, dict[str, float]]:
    per: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for category, ours, truth in rows:
        for key in (category, "overall"):
            per[key][0] += len(ours & truth)
            per[key][1] += len(ours)
            per[key][2] += len(truth)
            per[key][3] += ours == truth
            per[key][4] += 1
    return {
        key: {
            "precision": tp / reported if reported else 1.0,
            "recall": tp / expected if expected else 1.0,
            "exact": exact,
            "cases": cases,
        }
        for key, (tp, reported, expected, exact, cases) in per.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    sdist = suite()
    snippets = sdist / "micro-benchmark" / "snippets"
    ours_rows, pycg_rows = [], []
    ours_time = pycg_time = 0.0
    for truth_file in sorted(snippets.rglob("callgraph.json")):
        case = truth_file.parent
        category = case.relative_to(snippets).parts[0]
        truth = edges(json.loads(truth_file.read_text()))
        start = time.perf_counter()
        ours_rows.append((category, edges(strata_graph(case)), truth))
        ours_time += time.perf_counter() - start
        start = time.perf_counter()
        pycg_rows.append((category, edges(pycg_graph(case, sdist)), truth))
        pycg_time += time.perf_counter() - start
    ours, theirs = score(ours_rows), score(pycg_rows)
    report = render(ours, theirs, ours_time, pycg_time)
    print(report)
    if args.write:
        from bench_llm import write_section  # the shared section writer

        write_section(args.write, report)


def render(ours: dict[str, dict[str, float]], theirs: dict[str, dict[str, float]], t_ours: float, t_pycg: float) -> str:
    lines = [
        "## codegraph: call-graph accuracy on PyCG's micro-benchmark",
        "",
        "Edge precision and recall against each case's expected call graph, Strata (`pycalls`) and PyCG 0.0.8 "
        f"run on the same cases in the same run (`make bench`). Time for all cases: Strata {t_ours:.1f} s in-process, "
        f"PyCG {t_pycg:.1f} s (a process per case).",
        "",
        "| category | cases | Strata precision | Strata recall | Strata exact | PyCG precision | PyCG recall | PyCG exact |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key in [k for k in sorted(ours) if k != "overall"] + ["overall"]:
        o, p = ours[key], theirs[key]
        name = f"**{key}**" if key == "overall" else key
        lines.append(
            f"| {name} | {int(o['cases'])} | {o['precision']:.3f} | {o['recall']:.3f} | {int(o['exact'])} | "
            f"{p['precision']:.3f} | {p['recall']:.3f} | {int(p['exact'])} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
