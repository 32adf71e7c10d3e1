#!/usr/bin/env bash
# Regenerates src/strata/codegraph/data/rust_std_methods.txt: every method name of Rust's standard library (std, core,
# alloc), read from the rust-docs component of the installed toolchain (method and required-method anchors).
set -euo pipefail
docs="$(rustc --print sysroot)/share/doc/rust/html"
out="$(dirname "$0")/../src/strata/codegraph/data/rust_std_methods.txt"
{
	echo "# Method names of Rust's standard library (std, core, alloc), from $(rustc --version) docs"
	echo "# (servers/codegraph/scripts/rust_std_methods.sh). A call of one of these on a value whose type the tree-sitter"
	echo "# path does not know may be the library's: it gets no project target (strata.codegraph.links)."
	grep -rhoE 'id="(tymethod|method)\.[a-z_][a-z0-9_]*"' "$docs/std" "$docs/core" "$docs/alloc" \
		| sed -E 's/id="(tymethod|method)\.//; s/"$//' | LC_ALL=C sort -u
} >"$out"
