"""TypeScript/JavaScript call graphs against the TypeScript compiler's truth: strata-codegraph and CodeGraph side by side.

Projects are npm packages that ship their sources, fetched from the npm registry at bench time and pinned by
version and sha512 integrity (never committed), cached in ~/.cache/strata/bench/npm. CodeGraph
(``@colbymchenry/codegraph``, pinned the same way) is installed with npm into that cache.

Truth: ``bench/ts_truth.cjs`` asks the checker for every call, ``new`` and ``super()``:
``checker.getResolvedSignature(call).declaration`` (a class with no constructor declared: the class). Note that
strata-codegraph's TypeScript engine is that same checker (``strata/codegraph/typescript/tsgraph.cjs``), so what
this measures for it is how faithfully the compiler's answer becomes graph rows (definitions, names, callers), not an
independent resolver; CodeGraph resolves by its own rules.

Scoring. A definition is (file, name, start line); each tool's symbols are matched to the truth's by file and name
(nearest start line), a constructor counts as its class (``new C()`` is a call of C), and a caller the truth does
not know as a definition (a top-level constant) is the truth definition around it, else the file's top level.
Pair level: distinct (caller, callee) edges between project definitions. Site level: distinct (file, line, callee).
A reported call the checker cannot resolve (an ``any`` receiver: same file, line and spelled name) is left out. Precision = correct / reported,
recall = correct / truth. Also: duplicate CALLS rows and calls of library code (the checker says a library
declaration) reported as a call of a project symbol.

Usage: python bench/bench_codegraph_languages.py [--write docs/benchmarks.md] [--only mobx]
"""

from __future__ import annotations

import argparse
import base64
import bisect
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE = Path(os.environ.get("STRATA_BENCH_CACHE", Path.home() / ".cache" / "strata" / "bench")) / "npm"
REGISTRY = "https://registry.npmjs.org"
HERE = Path(__file__).resolve().parent
TRUTH = HERE / "ts_truth.cjs"
TYPESCRIPT = HERE.parent / "servers/codegraph/src/strata/codegraph/typescript/node_modules/typescript/lib/typescript.js"
CODEGRAPH = (
    "@colbymchenry/codegraph",
    "1.6.1",
    "sha512-kdyJ7Y9Q7oAMioThrNlRvm/23JRMMTlfydqsUx07eYK6EZIKlOLPgX9yA/h0TGaorQ6sWkrvzqocpoY7DgFUQw==",
)
SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs")


@dataclass(frozen=True)
class Project:
    name: str
    version: str
    integrity: str  # the registry's dist.integrity
    dirs: tuple[str, ...]  # what is indexed, inside the package
    language: str


PROJECTS = (
    Project(
        "mobx",
        "7.1.3",
        "sha512-H2NcS5ylMsqYn7v4WpSdzv5YWPmw5XTV6pG2NvY0qYbh95FXbswZJ7pn7wU0rOtUvRzk+3t4AOX2eircoN+vBg==",
        ("src",),
        "TypeScript",
    ),
    Project(
        "zod",
        "4.6.7",
        "sha512-g8W2D2kU6a8untc053fX1uVBKzM7yqAxW/3zwk83+6RyF2+SKOuV+c0wBDhUwzV1PaGapmZH+rmcUzPf+3CGwg==",
        ("src/v3",),
        "TypeScript",
    ),
    Project(
        "immer",
        "11.2.14",
        "sha512-Xujh/D+NWN1mM/eJb30ASOOTrI74DA6BV+SdkvfeIvHt8Pk70h0lP5l4LRIvBcEujxbw7LbVTFvcxgGg6pgvKA==",
        ("src",),
        "TypeScript",
    ),
    Project(
        "preact",
        "11.2.0",
        "sha512-/HfHI/7N84e6GrWBJ3J280z3mLaRJiDcSvj/A+y/4AbLnND/1UlGHe1sR6oYuTGwId0nP7dqDU9OnLxMPZ7xBg==",
        ("src", "hooks/src", "compat/src", "debug/src"),
        "JavaScript",
    ),
)

# Go: a Debian source package (the .deb's sha256 pinned), truth from go/types (bench/go_truth.go, needs `go`).
GO_PROJECTS = (
    (
        "golang-github-spf13-cobra-dev",
        "1.6.1-1",
        "4f5d20855133319beef3c5b49d3c21a0406f270bf94fb4b6f4d406b691283cb2",
        "usr/share/gocode/src/github.com/spf13/cobra",
    ),
)
GO_TRUTH = HERE / "go_truth.go"
# Java: a PyPI sdist that ships its Java sources (sha256 pinned), truth from javac (bench/JavaTruth.java, needs a JDK).
JAVA_PROJECTS = (("jpype1", "1.7.1", "3cd88838dc3d2d546f7eaeadaaff864e590010c15f2b6a44b6f37e60796a14b2"),)
JAVA_TRUTH = HERE / "JavaTruth.java"
# Rust: a Debian crate source package (sha256 pinned), truth from rustc's MIR (bench/rust_truth.py, needs rustc).
RUST_PROJECTS = (
    (
        "librust-regex-syntax-dev",
        "0.6.27-1",
        "16c9879e07d6f9c6b2618906126d17e51ec8b04bced0fe3bb0cf0f3062f8a353",
        "usr/share/cargo/registry/regex-syntax-0.6.27",
        (
            "std",
            "unicode",
            "unicode-age",
            "unicode-bool",
            "unicode-case",
            "unicode-gencat",
            "unicode-perl",
            "unicode-script",
            "unicode-segment",
        ),
    ),
)
RUST_PROJECTS += (
    (
        "librust-semver-dev",
        "1.0.14-1",
        "bf3719b7aac4b7f16f0d68a7037306dbc1532758fe7a5dea01254e85cecaca8c",
        "usr/share/cargo/registry/semver-1.0.14",
        ("std",),
    ),
)
RUST_TRUTH = HERE / "rust_truth.py"

Key = tuple[str, str, int]


def fetch_package(project: Project) -> Path:
    """The package's files, unpacked under the cache (downloaded once, checked against the pinned integrity)."""
    target = CACHE / f"{project.name}-{project.version}"
    if (target / "package" / "package.json").is_file():
        return target / "package"
    import httpx

    meta = httpx.get(f"{REGISTRY}/{project.name}/{project.version}", timeout=60).raise_for_status().json()
    dist = meta["dist"]
    if project.integrity and dist["integrity"] != project.integrity:
        raise SystemExit(f"{project.name}@{project.version}: registry integrity differs from the pinned one")
    data = httpx.get(dist["tarball"], timeout=120, follow_redirects=True).raise_for_status().content
    algorithm, _, expected = (project.integrity or dist["integrity"]).partition("-")
    if base64.b64encode(hashlib.new(algorithm, data).digest()).decode() != expected:
        raise SystemExit(f"{project.name}@{project.version}: tarball checksum mismatch")
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(suffix=".tgz") as archive:
        archive.write(data)
        archive.flush()
        with tarfile.open(archive.name) as tar:
            tar.extractall(target, filter="data")
    return target / "package"


def project_tree(project: Project) -> Path:
    """A directory holding only the indexed folders of the package (and nothing from a previous run)."""
    package = fetch_package(project)
    work = CACHE / "work" / f"{project.name}-{project.version}"
    shutil.rmtree(work, ignore_errors=True)
    for folder in project.dirs:
        shutil.copytree(package / folder, work / folder)
    return work


def fetch_deb(package: str, version: str, sha256: str, inner: str) -> Path:
    """A Debian package's files (apt-get download, checked against the pinned sha256), the ``inner`` folder copied
    to a fresh work directory laid out as a GOPATH (src/<import path>)."""
    target = CACHE / f"{package}_{version}"
    if not (target / inner).is_dir():
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=target, check=True, capture_output=True)
        deb = next(target.glob("*.deb"))
        if hashlib.sha256(deb.read_bytes()).hexdigest() != sha256:
            raise SystemExit(f"{package}={version}: checksum mismatch")
        subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)
    work = CACHE / "work" / f"{package}_{version}"
    shutil.rmtree(work, ignore_errors=True)
    if "/src/" not in inner:  # a crate: as it is
        shutil.copytree(target / inner, work, symlinks=False)
        return work
    import_path = inner.split("/src/", 1)[1]
    shutil.copytree(target / inner, work / "src" / import_path, symlinks=False)
    return work / "src" / import_path


def rust_truth(root: Path, features: tuple[str, ...]) -> dict[str, list[list[object]]]:
    cfgs = [f'feature="{feature}"' for feature in features]
    done = subprocess.run([sys.executable, str(RUST_TRUTH), str(root), *cfgs], check=True, capture_output=True)
    result: dict[str, list[list[object]]] = json.loads(done.stdout)
    return result


def fetch_sdist(name: str, version: str, sha256: str) -> Path:
    """A PyPI sdist, unpacked into a fresh work directory (downloaded once, checked against the pinned sha256)."""
    import httpx

    archive = CACHE / f"{name}-{version}.tar.gz"
    if not archive.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        index = httpx.get(
            f"https://pypi.org/simple/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=60
        )
        entry = next(f for f in index.raise_for_status().json()["files"] if f["filename"] == archive.name)
        data = httpx.get(entry["url"], timeout=120, follow_redirects=True).raise_for_status().content
        if hashlib.sha256(data).hexdigest() != sha256:
            raise SystemExit(f"{name}-{version}: checksum mismatch")
        archive.write_bytes(data)
    work = CACHE / "work" / f"{name}-{version}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    return work / f"{name}-{version}"


def java_truth(root: Path) -> dict[str, list[list[object]]]:
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.java"))
    done = subprocess.run(
        ["java", "-Xmx4g", str(JAVA_TRUTH), str(root)], input="\n".join(files).encode(), check=True, capture_output=True
    )
    result: dict[str, list[list[object]]] = json.loads(done.stdout)
    return result


def go_truth(root: Path) -> dict[str, list[list[object]]]:
    gopath = str(root).split("/src/", 1)[0]
    environment = {**os.environ, "GOPATH": gopath, "GO111MODULE": "off", "GOPROXY": "off", "GOFLAGS": ""}
    done = subprocess.run(
        ["go", "run", GO_TRUTH.name, str(root)], cwd=HERE, env=environment, check=True, capture_output=True
    )
    result: dict[str, list[list[object]]] = json.loads(done.stdout)
    return result


def source_files(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.suffix in SUFFIXES and ".codegraph" not in p.parts  # declaration files (.d.ts) are the project's too
    )


def install_codegraph() -> Path:
    name, version, integrity = CODEGRAPH
    prefix = CACHE / f"codegraph-{version}"
    binary = prefix / "node_modules" / ".bin" / "codegraph"
    if not binary.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", f"{name}@{version}"],
            check=True,
            capture_output=True,
        )
    lock = json.loads((prefix / "node_modules" / ".package-lock.json").read_text())
    if lock["packages"][f"node_modules/{name}"]["integrity"] != integrity:
        raise SystemExit("CodeGraph: installed package integrity differs from the pinned one")
    return binary


def timed(command: list[str], cwd: Path | None = None) -> tuple[float, float, str]:
    """Seconds and the peak RSS (MB) of the largest process the command ran (children included)."""
    probe = (
        "import resource,subprocess,sys,time;t=time.perf_counter();"
        "p=subprocess.run(sys.argv[1:],capture_output=True,text=True,stdin=subprocess.DEVNULL);"
        "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode);"
        "sys.stderr.write(p.stdout[-2000:]+p.stderr[-2000:])"
    )
    done = subprocess.run([sys.executable, "-c", probe, *command], cwd=cwd, capture_output=True, text=True)
    seconds, peak_kb, code = done.stdout.split()
    if code != "0":
        raise SystemExit(f"{command[0]} failed ({code}): {done.stderr[-1500:]}")
    return float(seconds), int(peak_kb) / 1024, done.stderr


# -- the three call graphs --------------------------------------------------------------------------------------


def truth(root: Path, files: list[str]) -> dict[str, list[list[object]]]:
    done = subprocess.run(
        ["node", "--max-old-space-size=4096", str(TRUTH), str(TYPESCRIPT), str(root), *files],
        check=True,
        capture_output=True,
    )
    result: dict[str, list[list[object]]] = json.loads(done.stdout)
    return result


def strata_edges(
    root: Path, store: Path, engine_key: str = "typescript_engine"
) -> tuple[list[tuple[Key, Key, int]], int, int, str, float, float]:
    cli = str(Path(sys.executable).with_name("strata-codegraph"))
    seconds, peak, _ = timed([cli, "index", str(root), "--db", str(store), "--json"])
    import kuzu

    database = kuzu.Database(str(store / "codegraph.kuzu"), read_only=True)
    connection = kuzu.Connection(database)
    rows = connection.execute(
        "MATCH (a:Symbol)-[e:CALLS]->(b:Symbol) RETURN a.file, a.name, a.start_line, a.kind, "
        "b.file, b.name, b.start_line, b.kind, e.line, a.id, b.id"
    )
    edges: list[tuple[Key, Key, int]] = []
    raw: list[tuple[str, str, int]] = []
    while rows.has_next():  # type: ignore[union-attr]
        row: list[Any] = rows.get_next()  # type: ignore[union-attr,assignment]
        af, an, al, ak, bf, bn, bl, bk, line, aid, bid = row
        raw.append((aid, bid, line))
        if ak == "module":
            an, al = "<module>", 0
        if bk in ("external", "builtin") or not bf:
            continue
        edges.append(((af, an, al), (bf, bn, bl), line))
    meta = connection.execute("MATCH (m:Meta) WHERE m.key = $key RETURN m.value", {"key": engine_key})
    engine = meta.get_next()[0] if meta.has_next() else ""  # type: ignore[union-attr,index]
    return edges, len(raw), len(raw) - len(set(raw)), str(engine), seconds, peak


def codegraph_edges(root: Path, binary: Path) -> tuple[list[tuple[Key, Key, int]], int, int, float, float]:
    shutil.rmtree(root / ".codegraph", ignore_errors=True)
    seconds, peak, _ = timed([str(binary), "init", str(root), "--yes", "--no-color"], cwd=root)
    database = sqlite3.connect(root / ".codegraph" / "codegraph.db")
    rows = database.execute(
        "SELECT a.file_path, a.name, a.start_line, a.kind, b.file_path, b.name, b.start_line, e.line, e.source, e.target "
        "FROM edges e JOIN nodes a ON a.id = e.source JOIN nodes b ON b.id = e.target "
        "WHERE e.kind IN ('calls', 'instantiates')"
    ).fetchall()
    edges: list[tuple[Key, Key, int]] = []
    raw = []
    for af, an, al, ak, bf, bn, bl, line, source, target in rows:
        raw.append((source, target, line))
        if ak == "file":
            an, al = "<module>", 0
        edges.append(((af, an, al), (bf, bn, bl), int(line or 0)))
    database.close()
    shutil.rmtree(root / ".codegraph", ignore_errors=True)
    return edges, len(raw), len(raw) - len(set(raw)), seconds, peak


def strata_edit_p50(root: Path, files: list[str], edits: int = 15) -> float:
    """Median seconds of ``reindex`` after one file gets a line (a body edit) in a running strata service."""
    from strata.codegraph.service import CodeGraph

    with tempfile.TemporaryDirectory() as store:
        service = CodeGraph(root, Path(store))
        try:
            service.reindex()
            times = []
            for i in range(edits):
                path = root / files[(i * len(files)) // edits]
                original = path.read_bytes()
                path.write_bytes(original + f"\n// edit {i}\n".encode())
                started = time.perf_counter()
                summary = service.reindex()
                times.append(time.perf_counter() - started)
                if not summary.incremental:
                    raise SystemExit(f"an edit of {path.name} was not applied incrementally")
                path.write_bytes(original)
                service.reindex()
            service.flush()
        finally:
            service.close()
    return sorted(times)[len(times) // 2]


# -- scoring -----------------------------------------------------------------------------------------------------


class Definitions:
    """The truth's definitions, to match another tool's (file, name, line) to."""

    def __init__(self, rows: list[list[object]]) -> None:
        self.lines: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.spans: dict[str, list[tuple[int, int, str, int]]] = defaultdict(list)
        self.classes: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        for file, name, kind, start, end in rows:
            f, n, s, e = str(file), str(name), int(start), int(end)  # type: ignore[call-overload]
            self.lines[(f, n)].append(s)
            self.spans[f].append((s, e, n, s))
            if kind == "class":
                self.classes[f].append((s, e, n))
        for values in self.lines.values():
            values.sort()

    def _enclosing(self, file: str, line: int, classes: bool = False) -> Key | None:
        spans = self.classes[file] if classes else [(s, e, n) for s, e, n, _ in self.spans[file]]
        inside = [(e - s, s, n) for s, e, n in spans if s <= line <= e]
        if not inside:
            return None
        _, start, name = min(inside)
        return (file, name, start)

    def callee(self, key: Key) -> Key:
        file, name, line = key
        if name == "constructor":  # `new C()` calls C
            around = self._enclosing(file, line, classes=True)
            if around is not None:
                return around
        return self._nearest(key) or key

    def caller(self, key: Key) -> Key:
        file, name, line = key
        if name == "<module>":
            return (file, "<module>", 0)
        if name == "constructor":
            around = self._enclosing(file, line, classes=True)
            if around is not None:
                return around
        found = self._nearest(key)
        if found is not None:
            return found
        return self._enclosing(file, line) or (file, "<module>", 0)

    def _nearest(self, key: Key) -> Key | None:
        file, name, line = key
        lines = self.lines.get((file, name))
        if not lines:
            return None
        at = bisect.bisect_left(lines, line)
        best = min(lines[max(0, at - 1) : at + 1], key=lambda x: abs(x - line))
        return (file, name, best) if abs(best - line) <= 3 else None


@dataclass
class Score:
    pair_precision: float
    pair_recall: float
    site_precision: float
    site_recall: float
    library_as_project: int  # reported calls of a project symbol where the checker says a library declaration


def score(tool: list[tuple[Key, Key, int]], truth_data: dict[str, list[list[object]]]) -> Score:
    definitions = Definitions(truth_data["definitions"])
    truth_pairs: set[tuple[Key, Key]] = set()
    truth_sites: set[tuple[str, int, Key]] = set()
    spelled: dict[tuple[str, int, str], set[str]] = defaultdict(set)  # (file, line, name) -> what the checker says
    for file, line, caller, callee, name in truth_data["sites"]:
        at = (str(file), int(line))  # type: ignore[call-overload]
        outcome = "unknown" if callee is None else callee if isinstance(callee, str) else "project"
        spelled[(at[0], at[1], str(name))].add(outcome)
        if outcome != "project":
            continue
        target = definitions.callee(tuple(callee))  # type: ignore[arg-type]
        source = definitions.caller(tuple(caller))  # type: ignore[arg-type]
        truth_pairs.add((source, target))
        truth_sites.add((at[0], at[1], target))
    pairs: set[tuple[Key, Key]] = set()
    sites: set[tuple[str, int, Key]] = set()
    library_as_project = 0
    measured = {str(site[0]) for site in truth_data["sites"]}  # a file the compiler did not build is not measured
    for caller, callee, line in tool:
        if caller[0] not in measured:
            continue  # a file of another language (a package's Python next to its Java)
        target = definitions.callee(callee)
        outcomes = spelled.get((caller[0], line, callee[1]), set()) | spelled.get((caller[0], line, target[1]), set())
        if outcomes == {"unknown"}:
            continue  # the checker does not know this call: nothing to check it against
        pairs.add((definitions.caller(caller), target))
        sites.add((caller[0], line, target))
        library_as_project += "<lib>" in outcomes and "project" not in outcomes
    return Score(
        _ratio(len(pairs & truth_pairs), len(pairs)),
        _ratio(len(pairs & truth_pairs), len(truth_pairs)),
        _ratio(len(sites & truth_sites), len(sites)),
        _ratio(len(sites & truth_sites), len(truth_sites)),
        library_as_project,
    )


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 1.0


# -- report --------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=Path)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    if shutil.which("node") is None or not TYPESCRIPT.is_file():
        raise SystemExit("node and the bundled TypeScript (make install) are needed for the truth")
    binary = install_codegraph()
    lines = []
    for project in PROJECTS:
        if args.only and project.name != args.only:
            continue
        root = project_tree(project)
        files = source_files(root)
        loc = sum(len((root / f).read_bytes().splitlines()) for f in files)
        truth_data = truth(root, files)
        with tempfile.TemporaryDirectory() as store:
            ours, rows, duplicates, engine, our_s, our_mb = strata_edges(root, Path(store))
        edit_s = strata_edit_p50(root, [f for f in files if not f.endswith(".d.ts")])
        with tempfile.TemporaryDirectory() as store:
            os.environ["STRATA_CODEGRAPH_NODE"] = "off"
            try:
                named, named_rows, named_duplicates, _, named_s, named_mb = strata_edges(root, Path(store))
            finally:
                del os.environ["STRATA_CODEGRAPH_NODE"]
        theirs, their_rows, their_duplicates, their_s, their_mb = codegraph_edges(root, binary)
        a, n, b = score(ours, truth_data), score(named, truth_data), score(theirs, truth_data)
        label = f"{project.name} {project.version} `{','.join(project.dirs)}` ({project.language}, {loc:,} lines)"
        for tool, sc, dup, total, sec, mb, edit in (
            (f"strata ({engine})", a, duplicates, rows, our_s, our_mb, f"{edit_s * 1000:.0f} ms"),
            ("strata (tree-sitter, STRATA_CODEGRAPH_NODE=off)", n, named_duplicates, named_rows, named_s, named_mb, ""),
            (f"CodeGraph {CODEGRAPH[1]}", b, their_duplicates, their_rows, their_s, their_mb, ""),
        ):
            lines.append(
                f"| {label} | {tool} | {sc.pair_precision:.3f} / {sc.pair_recall:.3f} | "
                f"{sc.site_precision:.3f} / {sc.site_recall:.3f} | {dup} of {total:,} | {sc.library_as_project} | "
                f"{sec:.1f} s | {mb:.0f} MB | {edit} |"
            )
            label = ""
            print(lines[-1], flush=True)
    compiled: list[tuple[str, str, str, Path, dict[str, list[list[object]]]]] = []  # language, label, key, ...
    if args.only in ("", "go") and shutil.which("go") and shutil.which("apt-get"):
        for package, version, sha256, inner in GO_PROJECTS:
            root = fetch_deb(package, version, sha256, inner)
            label = f"{inner.rsplit('/', 1)[-1]} {version} (Debian `{package}`"
            compiled.append(("Go", label, "go", root, go_truth(root)))
    if args.only in ("", "java") and shutil.which("javac"):
        for name, version, sha256 in JAVA_PROJECTS:
            root = fetch_sdist(name, version, sha256)
            compiled.append(("Java", f"{name} {version} (PyPI sdist", "java", root, java_truth(root)))
    if args.only in ("", "rust") and shutil.which("rustc") and shutil.which("apt-get"):
        for package, version, sha256, inner, features in RUST_PROJECTS:
            root = fetch_deb(package, version, sha256, inner)
            compiled.append(
                (
                    "Rust",
                    f"{inner.rsplit('/', 1)[-1]} (Debian `{package}` {version}",
                    "rust",
                    root,
                    rust_truth(root, features),
                )
            )
    for language, label, key, root, truth_data in compiled:
        suffix = {"go": ".go", "java": ".java", "rust": ".rs"}[key]
        loc = sum(len(p.read_bytes().splitlines()) for p in root.rglob(f"*{suffix}"))
        runs = []
        if key != "rust":  # Rust has no compiler engine: its tree-sitter row is the one
            with tempfile.TemporaryDirectory() as store:
                ours, rows, duplicates, engine, our_s, our_mb = strata_edges(root, Path(store), f"{key}_engine")
            runs.append((f"strata ({engine})", score(ours, truth_data), duplicates, rows, our_s, our_mb))
        switch = f"STRATA_CODEGRAPH_{key.upper()}"
        with tempfile.TemporaryDirectory() as store:
            os.environ[switch] = "off"
            try:
                named, named_rows, named_duplicates, _, named_s, named_mb = strata_edges(root, Path(store))
            finally:
                del os.environ[switch]
        tree_sitter = "strata (tree-sitter)" if key == "rust" else f"strata (tree-sitter, {switch}=off)"
        runs.append((tree_sitter, score(named, truth_data), named_duplicates, named_rows, named_s, named_mb))
        theirs, their_rows, their_duplicates, their_s, their_mb = codegraph_edges(root, binary)
        runs.append(
            (f"CodeGraph {CODEGRAPH[1]}", score(theirs, truth_data), their_duplicates, their_rows, their_s, their_mb)
        )
        label = f"{label}, {language}: {loc:,} lines)"
        for tool, sc, dup, total, sec, mb in runs:
            lines.append(
                f"| {label} | {tool} | {sc.pair_precision:.3f} / {sc.pair_recall:.3f} | "
                f"{sc.site_precision:.3f} / {sc.site_recall:.3f} | {dup} of {total:,} | {sc.library_as_project} | "
                f"{sec:.1f} s | {mb:.0f} MB | |"
            )
            label = ""
            print(lines[-1], flush=True)
    report = "\n".join(
        [
            "## codegraph: TypeScript/JavaScript, Go, Java and Rust call graphs against the compiler (bench_codegraph_languages.py)",
            "",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, node "
            f"{subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()}; run "
            f"{time.strftime('%Y-%m-%d')}. Truth: TypeScript's checker (`bench/ts_truth.cjs`, "
            "`getResolvedSignature(call).declaration`), go/types (`bench/go_truth.go`), javac (`bench/JavaTruth.java`) and "
            "rustc's MIR (`bench/rust_truth.py`: the callee rustc resolves at each source call expression) "
            "— TS, Go and Java truth comes from the same checkers strata's engines use, so those engine rows measure how "
            "faithfully strata carries the compiler's answer; the tree-sitter rows (engine off, and Rust, which has no "
            "engine) and CodeGraph resolve by their own rules. Definitions are matched by file, name and nearest start "
            "line; a constructor counts as its class. Only calls "
            "from files the compiler built count (jpype1 ships Python beside its Java; a crate's tests/ are crates of "
            "their own). Duplicate rows: the "
            "same (caller, callee, line) twice, over every language of the project. "
            "Precision / recall; 'library → project': calls the checker sends to a library declaration that a tool "
            "reports as a call of a project symbol. Peak RSS: the largest process of the run. Edit p50: the median "
            "`reindex` of a running strata service after one file (15 across the project) gets a line.",
            "",
            "| project | tool | pairs P / R | sites P / R | duplicate CALLS rows | library → project | index | peak RSS "
            "| edit p50 |",
            "|---|---|---|---|---|---|---|---|---|",
            *lines,
        ]
    )
    if args.write:
        _replace_section(args.write, report)
    else:
        print(report)


def _replace_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    title = section.splitlines()[0]
    start = text.find(title)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    else:
        end = text.find("\n## ", start + len(title))
        text = text[:start] + section + "\n" + (text[end + 1 :] if end >= 0 else "")
    path.write_text(text)


if __name__ == "__main__":
    main()
