"""Lowering Python modules for the call analysis: plain data, and what does not lower."""

import marshal

from strata.codegraph.pysyntax import M_SCOPES, SC_FQN, lower_source


def test_lowered_modules_are_plain_data_that_marshal_keeps() -> None:
    lowered = lower_source(
        "pkg.mod",
        "import os\nclass A(os.PathLike):\n    def f(self, x=lambda: 1):\n        return [y for y in x()][1:2]\n",
        False,
    )
    assert lowered is not None
    assert marshal.loads(marshal.dumps(lowered)) == lowered
    assert [record[SC_FQN] for record in lowered[M_SCOPES]] == [
        "pkg.mod",
        "pkg.mod.A",
        "pkg.mod.A.f",
        "pkg.mod.<lambda1>",  # a default is evaluated where the def is: the module names it
    ]


def test_a_module_nested_too_deeply_to_lower_is_left_out_like_one_that_does_not_parse() -> None:
    deep = "x = " + "(" * 180 + "1" + ")" * 180 + "\n"  # parses (CPython allows 200 levels)
    assert lower_source("deep", deep, False) is not None
    assert lower_source("bad", "def f(:\n", False) is None
