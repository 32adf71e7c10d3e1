"""Regenerates src/strata/codegraph/data/javascript_builtin_methods.txt: the method names ECMAScript's built-in objects
have (Array, Map, Set, String, Promise, ...), read from the TypeScript compiler's own lib.es*.d.ts files (the one
make install puts in the package)."""

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "strata" / "codegraph"
LIB = PACKAGE / "typescript" / "node_modules" / "typescript" / "lib"
METHOD = re.compile(r"^\s+(?:readonly\s+)?([A-Za-z_$][\w$]*)\??\s*(?:<[^>]*>)?\s*\(", re.MULTILINE)

names: set[str] = set()
for path in sorted(LIB.glob("lib.es*.d.ts")):
    names.update(m.group(1) for m in METHOD.finditer(path.read_text(encoding="utf-8")))
version = (LIB.parent / "package.json").read_text(encoding="utf-8").split('"version": "', 1)[1].split('"', 1)[0]
header = (
    f"# Method names of ECMAScript's built-in objects, from TypeScript {version}'s lib.es*.d.ts\n"
    "# (servers/codegraph/scripts/javascript_builtin_methods.py). A call of one of these on a value whose type the\n"
    "# tree-sitter path does not know may be the built-in's: it gets no project target (strata.codegraph.links).\n"
)
(PACKAGE / "data" / "javascript_builtin_methods.txt").write_text(header + "\n".join(sorted(names)) + "\n")
