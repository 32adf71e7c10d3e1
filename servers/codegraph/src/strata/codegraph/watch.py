"""``serve --watch``: follow file changes and reindex after a quiet period (debounce).

The watcher runs in its own thread (watchfiles' blocking iterator) because a server lifespan may be
entered and left in different tasks, which an anyio task group cannot span. CodeGraph serialises the
reindex against tool calls with its lock.
"""

from __future__ import annotations

import threading
from pathlib import Path

from strata.codegraph.index import PYTHON_SUFFIXES
from strata.codegraph.service import CodeGraph
from strata.codegraph.tags import LANGUAGE_OF_SUFFIX
from strata.shared.log import get_logger

__all__ = ["Watcher"]

log = get_logger("strata.codegraph.watch")
WATCHED_SUFFIXES = PYTHON_SUFFIXES | frozenset(LANGUAGE_OF_SUFFIX)


class Watcher:
    """Reindexes ``graph`` whenever an indexed kind of file changes, until stopped."""

    def __init__(self, graph: CodeGraph, debounce_ms: int) -> None:
        self.graph = graph
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="codegraph-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        from watchfiles import Change, watch

        def relevant(_: Change, path: str) -> bool:
            p = Path(path)
            return (p.suffix in WATCHED_SUFFIXES or p.name == ".gitignore") and ".strata" not in p.parts

        try:
            self.graph.prepare()  # analyse once in memory: each change after this is applied incrementally
            self.graph.reindex()  # whatever changed while that ran
        except Exception:
            log.exception("prepare_failed")
        for changes in watch(
            self.graph.root,
            watch_filter=relevant,
            debounce=self.debounce_ms,
            stop_event=self._stop,
            rust_timeout=500,
            yield_on_timeout=False,
        ):
            try:
                summary = self.graph.reindex()
            except Exception:  # keep watching: the next change may fix what broke this index
                log.exception("reindex_failed")
                continue
            log.info(
                "reindexed",
                changes=len(changes),
                changed_files=summary.changed_files,
                incremental=summary.incremental,
                rerun_scopes=summary.rerun_scopes,
                seconds=summary.seconds,
            )
