"""Python call graphs on real projects: strata-codegraph and PyCG against each project's own test suite run.

Projects are pure-Python sdists from PyPI that ship their tests, pinned by version and sha256, downloaded at bench
time into ~/.cache/strata/bench/realcode (never committed). For each project:

- **Truth (recall).** The project's test suite runs under ``bench/realcode_trace.py``, which records every call
  whose caller and callee are both the project's own code (not its tests): the dynamic call graph. Each code object
  is named as the static tools name definitions (module from the path, ``co_qualname`` without ``<locals>``,
  comprehensions charged to their function, a lambda by its line), so an edge is (caller, callee) at the level of
  definitions. A static call graph that is sound for what ran must hold every one of these edges. Each is tagged
  with what the caller's instruction was (``call``, ``with``, ``iteration``, ``attribute``: a property or
  descriptor, ``operator``: ``__eq__`` and friends, ``other``); recall is given over all and per kind.
- **Precision.** An edge a tool reports that the run saw is right. One it did not see may still be right (a branch
  the tests never take): ``seen`` precision counts those as wrong (a lower bound). The judged estimate replaces that
  guess, per project, by the share found right in a stratified random sample of strata's unseen edges judged by
  hand from the source (``bench/realcode_judged.tsv``: verdict and a one-line reason per edge). ``--sample N``
  adds N unjudged edges per project to that file, to judge.
- **PyCG 0.0.8** (from its sdist, as in bench_codegraph_accuracy.py) runs on the same files in the same run, every
  module an entry point. Both tools see the package only, not its tests.

Edges are between the project's definitions (module, class bodies, functions, lambdas; a constructor call counts as
``__init__``, as in PyCG's format). Library calls are left out of all counts.

Usage: python bench/bench_codegraph_realcode.py [--write docs/benchmarks.md] [--only toolz] [--sample N]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import random
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from strata.codegraph.pycalls import PyProject, analyze_sources, load_project, module_name_for

CACHE = Path(os.environ.get("STRATA_BENCH_CACHE", Path.home() / ".cache" / "strata" / "bench")) / "realcode"
HERE = Path(__file__).resolve().parent
JUDGED = HERE / "realcode_judged.tsv"
TRACER = HERE / "realcode_trace.py"
KINDS = ("call", "with", "iteration", "attribute", "operator", "other")  # the first kind an edge is seen as wins
PYCG_TIMEOUT = 300  # seconds per project; PyCG does not finish some (it is reported as timed out)
COMPREHENSIONS = frozenset({"<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>"})
Edge = tuple[str, str]


@dataclass(frozen=True)
class Project:
    name: str
    version: str
    sha256: str
    root: str  # the directory (inside the sdist) that holds the top package: module names start there
    packages: tuple[str, ...]  # package directories under root that are the project
    tests: tuple[str, ...]  # the test command, run in the sdist directory with root on PYTHONPATH
    test_dir: str  # the tests, under the sdist directory
    excluded: tuple[str, ...] = ()  # directories inside the packages that are tests (relative to the sdist)

    @property
    def sdist(self) -> str:
        return f"{self.name}-{self.version}"


PYTEST = ("-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "default")  # failing tests give real edges too
PROJECTS = (
    Project(
        "toolz",
        "1.0.0",
        "2c86e3d9a04798ac556793bced838816296a2f085017664e4995cb40a1047a02",
        ".",
        ("toolz",),
        (*PYTEST, "toolz/tests"),
        "toolz/tests",
        ("toolz/tests",),
    ),
    Project(
        "more-itertools",
        "10.5.0",
        "5482bfef7849c25dc3c6dd53a6173ae4795da2a41a80faea6700d9f5846c5da6",
        ".",
        ("more_itertools",),
        (*PYTEST, "tests"),
        "tests",
    ),
    Project(
        "click",
        "8.1.7",
        "ca9853ad459e787e2192211578cc907e7594e294c7ccc834310722b41b9ca6de",
        "src",
        ("click",),
        (*PYTEST, "tests"),
        "tests",
    ),
    Project(
        "markdown",
        "3.7",
        "2ae2471477cfd02dbbf038d5d9bc226d40def84b4fe2986e49b59b6b472bbed2",
        ".",
        ("markdown",),
        ("-m", "unittest", "discover", "-s", "tests", "-t", "."),
        "tests",
    ),
    Project(
        "parso",
        "0.8.4",
        "eb3a7b58240fb99099a345571deecc0f9540ea5f4dd2fe14c2a99d6b281ab92d",
        ".",
        ("parso",),
        (*PYTEST, "test"),
        "test",
    ),
    Project(
        "jinja2",
        "3.1.4",
        "4a3aee7acbbe7303aede8e9648d13b8bf88a429282aa6122a993f0ac800cb369",
        "src",
        ("jinja2",),
        (*PYTEST, "tests"),
        "tests",
    ),
    Project(
        "tabulate",
        "0.9.0",
        "0095b12bf5966de529c0feb1fa08671671b3368eec77d7ef7ab114be2c068b3c",
        ".",
        ("tabulate",),
        (*PYTEST, "test"),
        "test",
    ),
    Project(
        "boltons",
        "24.1.0",
        "4a49b7d57ee055b83a458c8682a2a6f199d263a8aa517098bda9bab813554b87",
        ".",
        ("boltons",),
        (*PYTEST, "--noconftest", "tests"),  # its conftest uses a hook argument pytest 8 removed
        "tests",
    ),
    Project(
        "mistune",
        "3.0.2",
        "fc7f93ded930c92394ef2cb6f04a8aabab4117a91449e72dcc8dfa646a508be8",
        "src",
        ("mistune",),
        (*PYTEST, "tests"),
        "tests",
    ),
    Project(
        "pyparsing",
        "3.2.0",
        "cbf74e27246d595d9a74b186b810f6fbb86726dbf3b9532efb343f6d7294fe9c",
        ".",
        ("pyparsing",),
        # the diagram and matplotlib tests need packages the bench does not install
        (*PYTEST, "tests", "--ignore=tests/test_diagram.py", "--ignore=tests/test_matplotlib_cases.py"),
        "tests",
    ),
)


def fetch(project: Project) -> Path:
    """The unpacked sdist (downloaded from PyPI on first use, checked against its pinned sha256)."""
    target = CACHE / project.sdist
    if target.is_dir():
        return target
    import httpx

    CACHE.mkdir(parents=True, exist_ok=True)
    index = httpx.get(
        f"https://pypi.org/simple/{project.name}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=60,
    ).raise_for_status()
    found = [f for f in index.json()["files"] if f["filename"].lower() == f"{project.sdist}.tar.gz".lower()]
    if not found:
        raise SystemExit(f"{project.sdist}: no sdist on PyPI")
    data = httpx.get(found[0]["url"], timeout=300, follow_redirects=True).raise_for_status().content
    if hashlib.sha256(data).hexdigest() != project.sha256:
        raise SystemExit(f"{project.sdist}: sha256 mismatch")
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
        archive = Path(scratch) / "sdist.tar.gz"
        archive.write_bytes(data)
        with tarfile.open(archive) as tar:
            tar.extractall(scratch, filter="data")
        unpacked = next(p for p in Path(scratch).iterdir() if p.is_dir())
        unpacked.rename(target)
    return target


def project_view(project: Project, sdist: Path) -> tuple[Path, list[Path]]:
    """The packages and the tests side by side in one directory, as a repository holds them (a src/ layout's
    packages moved up beside the tests), and their files: what both tools analyse. Module names are then the ones
    the test run imports."""
    view = CACHE / f"{project.sdist}.view"
    if not view.is_dir():
        import shutil

        scratch = Path(tempfile.mkdtemp(dir=CACHE))
        for package in project.packages:
            shutil.copytree(sdist / project.root / package, scratch / package)
        if not (scratch / project.test_dir).exists():
            shutil.copytree(sdist / project.test_dir, scratch / project.test_dir)
        scratch.rename(view)
    return view, sorted(view.rglob("*.py"))


# -- truth ------------------------------------------------------------------------------------------------------


def dynamic_edges(project: Project, sdist: Path) -> tuple[list[dict[str, object]], float]:
    root = (sdist / project.root).resolve()
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        dirs = [str(root / p) for p in project.packages]
        command = [sys.executable, str(TRACER), out.name, *dirs, "--not", *(str(sdist / e) for e in project.excluded)]
        env = {**os.environ, "PYTHONPATH": str(root), "PYTHONHASHSEED": "0"}
        started = time.perf_counter()
        run = subprocess.run(
            [*command, "--", *project.tests], cwd=sdist, env=env, capture_output=True, text=True, timeout=1800
        )
        elapsed = time.perf_counter() - started
        if run.returncode != 0 or not Path(out.name).stat().st_size:
            raise SystemExit(f"{project.sdist}: the traced test run failed ({run.returncode}):\n{run.stderr[-2000:]}")
        rows: list[dict[str, object]] = json.loads(Path(out.name).read_text())
        return rows, elapsed


class Names:
    """Code objects of a run named as strata names definitions, and the kinds of the project's own definitions (not
    its tests')."""

    def __init__(self, project: PyProject, root: Path, app: Project) -> None:
        self.root = root
        tests = tuple(e.removeprefix(f"{app.root}/").replace("/", ".") for e in app.excluded)
        own = {package.replace("/", ".") for package in app.packages}
        self.kinds = {
            fqn: scope.kind
            for fqn, scope in project.scopes.items()
            if scope.module.partition(".")[0] in own and not scope.module.startswith(tests)
        }
        self.lambdas: dict[tuple[str, int], list[str]] = defaultdict(list)
        for fqn, scope in project.scopes.items():
            if scope.kind == "lambda":
                self.lambdas[(scope.module, scope.lineno)].append(fqn)

    def name(self, code: list[object], as_caller: bool) -> str | None:
        path, qualname, line = Path(str(code[0])), str(code[1]), int(str(code[2]))
        try:
            module = module_name_for(path.resolve(), self.root)
        except ValueError:
            return None
        if qualname == "<module>":
            return module
        parts = [p for p in qualname.split(".") if p != "<locals>"]
        while parts and parts[-1] in COMPREHENSIONS:
            if not as_caller:
                return None  # a comprehension running is no call
            parts.pop()  # a call in a comprehension is its function's
        if not parts:
            return module
        if parts[-1] == "<lambda>":
            candidates = self.lambdas.get((module, line), [])
            return candidates[0] if len(candidates) == 1 else None
        fqn = ".".join([module, *parts])
        return fqn if fqn in self.kinds else None


def truth_edges(rows: list[dict[str, object]], names: Names) -> tuple[dict[Edge, str], int]:
    """(caller, callee) -> kind, and how many recorded edges could not be named."""
    out: dict[Edge, str] = {}
    unnamed = 0
    for row in rows:
        caller = names.name(row["caller"], as_caller=True)  # type: ignore[arg-type]
        callee = names.name(row["callee"], as_caller=False)  # type: ignore[arg-type]
        callee_code: list[object] = row["callee"]  # type: ignore[assignment]
        if callee is None and str(callee_code[1]).rpartition(".")[2] in COMPREHENSIONS:
            continue
        if caller is None or callee is None:
            unnamed += 1
            continue
        if names.kinds.get(callee) in ("module", "class"):
            continue  # a module or class body running (import, class statement): no call
        if callee.endswith(".__del__"):
            continue  # run when an object dies, wherever that happens: no call of the frame it happens in
        kind = str(row["kind"])
        if kind == "resumed":
            continue  # a generator first run by a frame that did not make it: who made it is unknown
        before = out.get((caller, callee))
        if before is None or KINDS.index(kind) < KINDS.index(before):
            out[(caller, callee)] = kind
    return out, unnamed


# -- the tools --------------------------------------------------------------------------------------------------


def strata_graph(root: Path, files: list[Path]) -> tuple[PyProject, set[Edge], float]:
    started = time.perf_counter()
    project = analyze_sources(load_project(root, files))
    graph = project.call_graph()
    elapsed = time.perf_counter() - started
    return project, {(a, b) for a, callees in graph.items() for b in callees}, elapsed


def pycg_graph(root: Path, files: list[Path]) -> tuple[set[Edge] | None, float, str]:
    sys.path.insert(0, str(HERE))
    from bench_codegraph_accuracy import suite

    sdist = suite()
    parsed = [f for f in files if _parses(f)]  # PyCG stops at the first file that does not parse; strata skips it
    # PyCG hooks every import while it runs: unicodedata, loaded then, comes back empty and a source with a \N{...}
    # escape no longer compiles. Loaded before, it is left alone.
    start = "import runpy, sys, unicodedata; sys.argv[0] = 'pycg'; runpy.run_module('pycg', run_name='__main__')"
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        started = time.perf_counter()
        try:
            run = subprocess.run(
                [sys.executable, "-c", start, "--package", str(root), *map(str, parsed), "-o", out.name],
                env={**os.environ, "PYTHONPATH": str(sdist)},
                capture_output=True,
                text=True,
                timeout=PYCG_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return None, time.perf_counter() - started, f"timed out ({PYCG_TIMEOUT} s)"
        elapsed = time.perf_counter() - started
        if run.returncode != 0:
            return None, elapsed, _error_line(run.stderr)
        graph: dict[str, list[str]] = json.loads(Path(out.name).read_text())
    return {(a, b) for a, callees in graph.items() for b in callees}, elapsed, ""


def _error_line(stderr: str) -> str:
    """The exception a failed run ended with (its last line naming one), else its last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    named = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Exit)\b", line)]
    return ((named or lines or ["failed"])[-1])[:120]


def _parses(path: Path) -> bool:
    import ast

    try:
        ast.parse(path.read_text(encoding="utf-8"))  # as PyCG reads it: a byte-order mark fails
    except (SyntaxError, ValueError):
        return False
    return True


# -- scoring ----------------------------------------------------------------------------------------------------


def judged() -> dict[tuple[str, str, str], tuple[str, str]]:
    """(project, caller, callee) -> (verdict, reason) from the hand-judged sample."""
    if not JUDGED.exists():
        return {}
    with JUDGED.open(encoding="utf-8", newline="") as data:
        rows = csv.DictReader((line for line in data if not line.startswith("#")), delimiter="\t")
        return {(r["project"], r["caller"], r["callee"]): (r["verdict"], r["reason"]) for r in rows}


@dataclass
class Score:
    reported: int
    seen: int
    truth: int
    recall_by_kind: dict[str, tuple[int, int]]
    judged_true: int = 0
    judged: int = 0

    @property
    def recall(self) -> float:
        return self.seen / self.truth if self.truth else 1.0

    @property
    def seen_precision(self) -> float:
        return self.seen / self.reported if self.reported else 1.0

    def judged_precision(self) -> float | None:
        """Seen edges, plus the unseen ones at the share of them found right in the judged sample."""
        if not self.judged:
            return None
        unseen = self.reported - self.seen
        return (self.seen + unseen * self.judged_true / self.judged) / self.reported if self.reported else 1.0


def score(edges: set[Edge], truth: dict[Edge, str], project: str, verdicts: dict) -> Score:  # type: ignore[type-arg]
    by_kind: dict[str, tuple[int, int]] = {}
    for kind in KINDS:
        wanted = [e for e, k in truth.items() if k == kind]
        by_kind[kind] = (sum(e in edges for e in wanted), len(wanted))
    result = Score(len(edges), len(edges & truth.keys()), len(truth), by_kind)
    for caller, callee in edges - truth.keys():
        verdict = verdicts.get((project, caller, callee))
        if verdict is not None and verdict[0] in ("true", "false"):
            result.judged += 1
            result.judged_true += verdict[0] == "true"
    return result


def app_edges(edges: set[Edge], names: Names) -> set[Edge]:
    """Edges between the project's own definitions (library calls and builtins left out)."""
    return {(a, b) for a, b in edges if a in names.kinds and names.kinds.get(b) in ("function", "lambda")}


def add_sample(project: str, unseen: set[Edge], size: int, strata: PyProject) -> int:
    """Append ``size`` randomly chosen unseen strata edges not in the judged file yet, verdict blank, with the
    lines of the call sites to look at."""
    known = judged()
    pool = sorted(e for e in unseen if (project, *e) not in known)
    picked = random.Random(f"{project}:{len(known)}").sample(pool, min(size, len(pool)))
    sites: defaultdict[Edge, list[int]] = defaultdict(list)
    for (caller, line, _, _), targets in strata.calls.items():
        for target in targets:
            sites[(caller, target)].append(line)
    new = not JUDGED.exists()
    with JUDGED.open("a", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        if new:
            out.write("# hand-judged strata edges the test runs did not see (bench_codegraph_realcode.py)\n")
            writer.writerow(["project", "caller", "callee", "verdict", "reason"])
        for caller, callee in picked:
            lines = ",".join(map(str, sorted(set(sites[(caller, callee)]))))
            writer.writerow([project, caller, callee, "", f"lines {lines}"])
    return len(picked)


# -- report -----------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", type=Path, default=None)
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--sample", type=int, default=0, help="add this many unjudged edges per project to judge")
    parser.add_argument("--no-pycg", action="store_true", help="leave PyCG out (quicker, while tuning)")
    parser.add_argument("--show", action="store_true", help="list each project's missed and unseen edges (stderr)")
    args = parser.parse_args()
    verdicts = judged()
    rows = []
    for project in PROJECTS:
        if args.only and project.name not in args.only:
            continue
        sdist = fetch(project)
        view, files = project_view(project, sdist)
        strata, ours, ours_time = strata_graph(view, files)
        names = Names(strata, (sdist / project.root).resolve(), project)
        app_files = {
            file_of
            for file_of in files
            if module_name_for(file_of, view) in {s.module for s in strata.scopes.values() if s.fqn in names.kinds}
        }
        lines = sum(len(f.read_text(encoding="utf-8", errors="replace").splitlines()) for f in app_files)
        records, run_time = dynamic_edges(project, sdist)
        truth, unnamed = truth_edges(records, names)
        ours = app_edges(ours, names)
        theirs, pycg_time, pycg_error = (None, 0.0, "left out") if args.no_pycg else pycg_graph(view, files)
        theirs = app_edges(theirs, names) if theirs is not None else None
        ours_score = score(ours, truth, project.name, verdicts)
        pycg_score = score(theirs, truth, project.name, verdicts) if theirs is not None else None
        if args.show:
            for edge, kind in sorted(truth.items()):
                if edge not in ours:
                    print(f"  missed {kind}: {edge[0]} -> {edge[1]}", file=sys.stderr)
            for edge in sorted(ours - truth.keys()):
                print(f"  unseen: {edge[0]} -> {edge[1]}", file=sys.stderr)
        if args.sample:
            added = add_sample(project.name, ours - truth.keys(), args.sample, strata)
            print(f"{project.name}: {added} edges added to {JUDGED.name} to judge", file=sys.stderr)
        rows.append(
            (
                project,
                len(app_files),
                lines,
                truth,
                unnamed,
                run_time,
                ours_score,
                ours_time,
                pycg_score,
                pycg_time,
                pycg_error,
            )
        )
        print(
            f"{project.sdist}: truth {len(truth)} (unnamed {unnamed}); strata {ours_score.seen}/{ours_score.reported} "
            f"recall {ours_score.recall:.3f}; pycg {pycg_score.recall if pycg_score else pycg_error}",
            file=sys.stderr,
        )
    report = render(rows)
    print(report)
    if args.write:
        from bench_llm import write_section  # the shared section writer

        write_section(args.write, report)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def render(rows: list) -> str:  # type: ignore[type-arg]
    lines = [
        "## codegraph: Python call graphs on real projects (test-suite truth)",
        "",
        "Ten pure-Python projects from PyPI sdists (pinned by sha256), each one's own test suite run under "
        "`sys.setprofile` to record which of its definitions called which (application caller → application callee; "
        "tests drive, but are not callers). Recall = share of those edges a tool reports. *Seen* precision = share of a "
        "tool's edges the run saw (a lower bound: a branch the tests never take is counted wrong); *judged* = seen edges "
        "plus unseen ones at the rate found right in the hand-judged sample of strata's unseen edges "
        "(`bench/realcode_judged.tsv`). PyCG 0.0.8 runs on the same files in the same run (the package and its tests, "
        "every module an entry point; a run past 300 s is stopped). **strata was tuned on these projects**: its "
        "Python analysis was reworked, session by session, from the causes of these projects' "
        "missed and unseen edges (each fix with a test of its own). Suites it was not tuned on are held out "
        f"elsewhere. Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}.",
        "",
        "| project | files / lines | truth edges | strata recall | strata precision seen / judged (n) | strata time "
        "| PyCG recall | PyCG precision seen | PyCG time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    totals: dict[str, Counter[str]] = {"strata": Counter(), "pycg": Counter(), "strata_where_pycg": Counter()}
    kinds: dict[str, Counter[str]] = {
        "strata": Counter(),
        "pycg": Counter(),
        "truth": Counter(),
        "pycg_truth": Counter(),
    }
    estimated_right = 0.0
    estimated_total = 0
    for project, nfiles, nlines, truth, _unnamed, _, ours, ours_time, theirs, pycg_time, pycg_error in rows:
        judged_p = ours.judged_precision()
        pycg_cells = (
            f"{theirs.recall:.3f} | {theirs.seen_precision:.3f} | {pycg_time:.1f} s"
            if theirs is not None
            else f"– | – | {pycg_error}"
        )
        lines.append(
            f"| {project.sdist} | {nfiles} / {nlines} | {len(truth)} | {ours.recall:.3f} | "
            f"{ours.seen_precision:.3f} / {_fmt(judged_p)} ({ours.judged}) | {ours_time:.2f} s | {pycg_cells} |"
        )
        for name, result in (("strata", ours), ("pycg", theirs)):
            if result is None:
                continue
            totals[name].update(reported=result.reported, seen=result.seen, truth=result.truth, projects=1)
            for kind, (hit, _) in result.recall_by_kind.items():
                kinds[name][kind] += hit
        for kind, (_, total) in ours.recall_by_kind.items():
            kinds["truth"][kind] += total
            if theirs is not None:
                kinds["pycg_truth"][kind] += total
        if theirs is not None:
            totals["strata_where_pycg"].update(reported=ours.reported, seen=ours.seen, truth=ours.truth)
        if judged_p is not None:
            estimated_right += judged_p * ours.reported
            estimated_total += ours.reported
    s, p = totals["strata"], totals["pycg"]
    judged_total = f"{estimated_right / estimated_total:.3f}" if estimated_total else "–"
    lines.append(
        f"| **all** | | {s['truth']} | **{s['seen'] / max(s['truth'], 1):.3f}** | "
        f"{s['seen'] / max(s['reported'], 1):.3f} / {judged_total} | | "
        f"{p['seen'] / max(p['truth'], 1):.3f} ({p['projects']} projects) | {p['seen'] / max(p['reported'], 1):.3f} | |"
    )
    both = totals["strata_where_pycg"]
    if p["projects"]:
        lines += [
            "",
            f"On the {p['projects']} projects PyCG finished: strata recall {both['seen'] / max(both['truth'], 1):.3f}, "
            f"seen precision {both['seen'] / max(both['reported'], 1):.3f}; PyCG recall "
            f"{p['seen'] / max(p['truth'], 1):.3f}, seen precision {p['seen'] / max(p['reported'], 1):.3f}.",
        ]
    lines += ["", "Recall by what the caller's instruction was (strata: all projects; PyCG: those it finished):", ""]
    lines += ["| kind | truth edges | strata | PyCG |", "|---|---|---|---|"]
    for kind in KINDS:
        total = kinds["truth"][kind]
        if total:
            theirs_total = kinds["pycg_truth"][kind]
            pycg_cell = f"{kinds['pycg'][kind] / theirs_total:.3f}" if theirs_total else "–"
            lines.append(f"| {kind} | {total} | {kinds['strata'][kind] / total:.3f} | {pycg_cell} |")
    lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
