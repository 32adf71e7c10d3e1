"""Lowering a large project on two cores: a child process lowers modules from the end of the list back while this
process lowers from the start, until the two meet. Lowered modules hold only str, int, bool, None, tuples and
frozensets, so they cross the process boundary with marshal (length-prefixed frames)."""

from __future__ import annotations

import contextlib
import fcntl
import marshal
import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import IO, Final

from strata.codegraph.pysyntax import Lowered, lower_source

__all__ = ["lower_sources"]

# Below this much source a project is lowered in this process: starting a child costs ~0.1 s.
PARALLEL_MIN_BYTES: Final = 4_000_000
CHILD_FROM: Final = 0.25  # of the source bytes: what the child is handed starts past them (see _child_start)
PIPE_BYTES: Final = 1 << 20
FRAME_HEADER: Final = 4  # bytes of a frame's length


def lower_sources(files: Mapping[str, tuple[str, bool]], parallel: bool | None = None) -> dict[str, Lowered | None]:
    """Lower ``{module name: (source, is_package)}``, in the order given; a module that does not parse maps to None.

    ``parallel`` (default: when the sources are large and there is a second core) has a child process lower
    modules from the end of the list back while this one lowers from the start, until the two meet: however the
    cost per byte differs between files and processes, both work to the end (parsing and lowering Lib/ takes
    ~8 s on one core). When the child cannot start or fails, the rest is lowered here (a frame that came with the
    failure is not trusted).
    """
    names = list(files)
    if parallel is None:
        parallel = (os.cpu_count() or 1) > 1 and sum(len(source) for source, _ in files.values()) >= PARALLEL_MIN_BYTES
    child = _Child.start(names[_child_start(names, files) :], files) if parallel and len(names) > 1 else None
    out: dict[str, Lowered | None] = {}
    meet = len(names)  # the child has lowered names[meet:]
    for index, name in enumerate(names):
        if child is not None:
            for done, lowered in child.poll():
                out[done] = lowered
                meet -= 1
            if index >= meet:
                break
        out[name] = lower_source(name, *files[name])
    if child is not None:
        child.stop()
    return {name: out[name] for name in names}


def _child_start(names: list[str], files: Mapping[str, tuple[str, bool]]) -> int:
    """Where the modules handed to the child start: past the first CHILD_FROM of the source bytes (on Lib/ the two
    meet at ~44%: the child also pays for its start and for marshalling what it lowered)."""
    total = sum(len(files[name][0]) for name in names)
    taken = 0
    for index, name in enumerate(names):
        if taken >= total * CHILD_FROM:
            return max(1, index)
        taken += len(files[name][0])
    return len(names) - 1


class _Child:
    """A child process lowering modules from the last one back, each sent as soon as it is lowered: length-prefixed
    marshalled ``(name, lowered)`` frames (see _child_main), which this process reads without waiting."""

    def __init__(self, process: subprocess.Popen[bytes], sender: threading.Thread) -> None:
        assert process.stdout is not None
        self.process = process
        self.sender = sender
        self.fd = process.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.buffer = bytearray()
        self.ended = False
        self.failed = False

    @classmethod
    def start(cls, names: list[str], files: Mapping[str, tuple[str, bool]]) -> _Child | None:
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", "from strata.codegraph.pyworkers import _child_main; _child_main()"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        except OSError:
            return None
        assert process.stdin is not None and process.stdout is not None
        with contextlib.suppress(OSError):  # room for several lowered modules: the child rarely waits for a read
            fcntl.fcntl(process.stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        payload = marshal.dumps([(name, *files[name]) for name in names])
        # Sent from a thread: the child takes a moment to start reading, and this process has modules to lower.
        sender = threading.Thread(target=_send, args=(process.stdin, payload), name="codegraph-lower-send")
        sender.start()
        return cls(process, sender)

    def poll(self) -> list[tuple[str, Lowered | None]]:
        """The modules lowered and sent since the last poll (none more once the child failed)."""
        while not self.ended:
            try:
                chunk = os.read(self.fd, PIPE_BYTES)
            except BlockingIOError:
                break
            if not chunk:
                self.ended = True
                self.failed = self.process.wait() != 0
                break
            self.buffer += chunk
        frames: list[tuple[str, Lowered | None]] = []
        buffer = self.buffer
        while not self.failed and len(buffer) >= FRAME_HEADER:
            size = int.from_bytes(buffer[:FRAME_HEADER], "little")
            if len(buffer) < FRAME_HEADER + size:
                break
            try:
                name, lowered = marshal.loads(buffer[FRAME_HEADER : FRAME_HEADER + size])  # noqa: S302 - our child's
            except (EOFError, ValueError, TypeError):
                self.failed = True
                break
            del buffer[: FRAME_HEADER + size]
            frames.append((name, lowered))
        return frames

    def stop(self) -> None:
        """End the child (its work is done, or this process did the rest) and release its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.sender.join()
        assert self.process.stdout is not None
        self.process.stdout.close()


def _send(pipe: IO[bytes], payload: bytes) -> None:
    try:
        with pipe:
            pipe.write(payload)
    except OSError:  # the child died at start, or was stopped before it read everything
        pass


def _child_main() -> None:
    """The child's side of :func:`lower_sources`: marshalled ``(name, source, is_package)`` on stdin; from the last
    one back, each lowered module on stdout as soon as it is made, until all are sent or the parent stops it."""
    import gc

    gc.disable()  # everything lives until it is written out (see pycalls.collector_paused)
    files: list[tuple[str, str, bool]] = marshal.loads(sys.stdin.buffer.read())  # noqa: S302 - from our parent
    out = sys.stdout.buffer
    for name, source, is_package in reversed(files):
        frame = marshal.dumps((name, lower_source(name, source, is_package)))
        out.write(len(frame).to_bytes(FRAME_HEADER, "little") + frame)
        out.flush()
    os._exit(0)  # the lowered modules are garbage now: freeing them one by one takes longer than the work
