"""Record the dynamic call graph of a project while a command (its test suite) runs: the truth of the real-code
benchmark (bench_codegraph_realcode.py).

    python realcode_trace.py OUT.json APP_DIR [APP_DIR...] [--not DIR...] -- -m pytest [ARGS...]

Every Python-level call whose caller and callee are both code under an APP_DIR and not under a ``--not`` DIR (the
project's package, not its tests) is one edge, kept once per (caller code, callee code, kind). ``sys.setprofile`` (and ``threading.setprofile``)
sees it; Python 3.11 has no sys.monitoring. The kind is what the caller's instruction was:

- ``call``: a call expression (CALL, CALL_FUNCTION_EX): ``f()``, ``C()`` → ``C.__init__``, a function a builtin
  called on the caller's behalf (``sorted(key=f)``), a decorator applied
- ``with``: ``__enter__``/``__aenter__`` (``__exit__`` is compiled as a call)
- ``iteration``: FOR_ITER / GET_ITER: ``__iter__``, ``__next__``, a generator started by the loop
- ``attribute``: LOAD_ATTR and its kin: a property, ``__getattr__``, a descriptor
- ``operator``: BINARY_OP, COMPARE_OP, BINARY_SUBSCR and the like: ``__eq__``, ``__getitem__``...
- ``other``: anything else (class creation hooks, ``__del__``)

A generator, coroutine or async generator emits no event when it is made, only when it runs: its edge is the one
from the frame that first runs it (most often the one that made it, ``for x in gen()``), kind as above, when that
frame's code names the generator function; otherwise the maker is unknown and the edge's kind is ``resumed`` (the
benchmark leaves those out of the truth).
"""

from __future__ import annotations

import dis
import json
import os
import runpy
import sys
import threading
from types import CodeType, FrameType
from typing import Any

_GENERATOR_FLAGS = 0x20 | 0x80 | 0x200  # CO_GENERATOR, CO_COROUTINE, CO_ASYNC_GENERATOR
_KIND_OF = {
    "CALL": "call",
    "PRECALL": "call",
    "CALL_FUNCTION_EX": "call",
    "BEFORE_WITH": "with",
    "BEFORE_ASYNC_WITH": "with",
    "FOR_ITER": "iteration",
    "GET_ITER": "iteration",
    "GET_AITER": "iteration",
    "GET_ANEXT": "iteration",
    "SEND": "iteration",
    "LOAD_ATTR": "attribute",
    "LOAD_METHOD": "attribute",
    "STORE_ATTR": "attribute",
    "DELETE_ATTR": "attribute",
    "BINARY_OP": "operator",
    "COMPARE_OP": "operator",
    "CONTAINS_OP": "operator",
    "BINARY_SUBSCR": "operator",
    "STORE_SUBSCR": "operator",
    "DELETE_SUBSCR": "operator",
    "UNARY_NEGATIVE": "operator",
    "UNARY_NOT": "operator",
    "UNARY_INVERT": "operator",
    "FORMAT_VALUE": "operator",
    "BUILD_STRING": "operator",
}


class Recorder:
    def __init__(self, app_dirs: list[str], excluded: list[str]) -> None:
        self.app_dirs = tuple(os.path.realpath(d) + os.sep for d in app_dirs)
        self.excluded = tuple(os.path.realpath(d) + os.sep for d in excluded)
        self.in_app: dict[CodeType, bool] = {}
        self.first_resume: dict[CodeType, int] = {}
        self.edges: dict[tuple[CodeType, CodeType, str], int] = {}

    def _app(self, code: CodeType) -> bool:
        known = self.in_app.get(code)
        if known is None:
            path = os.path.realpath(code.co_filename)
            known = self.in_app[code] = path.startswith(self.app_dirs) and not path.startswith(self.excluded)
        return known

    def profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call":
            return
        code = frame.f_code
        if not self._app(code):
            return
        caller = frame.f_back
        if caller is None or not self._app(caller.f_code):
            return
        kind = ""
        if code.co_flags & _GENERATOR_FLAGS:
            if frame.f_lasti != self._start(code):
                return  # resumed, not started
            if not _names(caller.f_code, code.co_name):
                kind = "resumed"  # started by a frame that did not make it (by name)
        kind = kind or _KIND_OF.get(_instruction(caller.f_code, caller.f_lasti), "other")
        key = (caller.f_code, code, kind)
        self.edges[key] = self.edges.get(key, 0) + 1

    def _start(self, code: CodeType) -> int:
        """The offset a generator's frame is at when it first runs (its first RESUME)."""
        start = self.first_resume.get(code)
        if start is None:
            resumes = [i.offset for i in dis.get_instructions(code) if i.opname == "RESUME"]
            start = self.first_resume[code] = resumes[0] if resumes else -1
        return start

    def dump(self, path: str) -> None:
        rows = [
            {
                "caller": [a.co_filename, a.co_qualname, a.co_firstlineno],
                "callee": [b.co_filename, b.co_qualname, b.co_firstlineno],
                "kind": kind,
                "count": count,
            }
            for (a, b, kind), count in self.edges.items()
        ]
        with open(path, "w", encoding="utf-8") as out:
            json.dump(rows, out)


def _names(code: CodeType, name: str) -> bool:
    """Whether ``code`` uses ``name`` (a global, attribute, local or closure name)."""
    return name in code.co_names or name in code.co_varnames or name in code.co_cellvars or name in code.co_freevars


def _instruction(code: CodeType, offset: int) -> str:
    """The name of the instruction at ``offset``, skipping back over the inline caches that follow it."""
    raw = code.co_code
    while offset > 0 and raw[offset] == 0:  # CACHE
        offset -= 2
    return dis.opname[raw[offset]] if offset >= 0 else ""


def main() -> None:
    split = sys.argv.index("--")
    out, dirs, command = sys.argv[1], sys.argv[2:split], sys.argv[split + 1 :]
    cut = dirs.index("--not") if "--not" in dirs else len(dirs)
    recorder = Recorder(dirs[:cut], dirs[cut + 1 :])
    threading.setprofile(recorder.profile)
    sys.setprofile(recorder.profile)
    code = 0
    try:
        if command[:1] == ["-m"]:
            sys.argv = [command[1], *command[2:]]
            runpy.run_module(command[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = command
            runpy.run_path(command[0], run_name="__main__")
    except SystemExit as stop:  # pytest exits with the outcome; failing tests still give real edges
        code = stop.code if isinstance(stop.code, int) else 1
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
        recorder.dump(out)
    sys.exit(0 if code in (0, 1) else code)


if __name__ == "__main__":
    main()
