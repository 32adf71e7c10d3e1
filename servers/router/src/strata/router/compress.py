"""Tool-output compression that loses nothing: filters for noisy outputs, raw text kept by id.

Pipeline: strip ANSI colour and carriage-return progress, detect the kind of output, apply that
kind's filter, cap the length, then make sure every error line of the raw output is still there
verbatim (a filter that would drop one gets it appended under "kept error lines"). The raw text is
stored and retrievable with ``raw_output(id)``, so compression is a view, never a loss.

Kinds and what their filter drops:
    pytest      passing progress/PASSED lines, long source listings inside failures
    git_diff    index lines and unchanged context lines (hunk headers keep the positions)
    git_status  hint lines; files grouped by state on one line each
    compiler    source excerpts and caret lines under diagnostics; repeated diagnostics counted
    json        long arrays and strings shortened (shape, first items, counts); values that mention
                an error, and the array items holding them, are kept whole
    traceback   library frames (site-packages, the standard library) and repeated recursion frames
    log         repeated and near-identical lines counted, blank runs, the middle of very long output
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from strata.router.db import Database
from strata.router.errors import InvalidRequestError, NotFoundError
from strata.router.types import estimate_tokens

__all__ = ["Compressed", "Kind", "RawStore", "compress", "detect"]

Kind = Literal["pytest", "git_diff", "git_status", "compiler", "json", "traceback", "log"]
KINDS: tuple[Kind, ...] = ("pytest", "git_diff", "git_status", "compiler", "json", "traceback", "log")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
ERROR_LINE = re.compile(
    r"\b(error|errors|fail|failed|failure|failures|fatal|panic|panicked|exception|traceback|assert(ion)?error)\b|^E\s{2,}|\berror\[",
    re.IGNORECASE,
)
NOT_ERROR = re.compile(r"\b0 (errors?|failed|failures?)\b|\bno errors?\b", re.IGNORECASE)
HEAD_LINES = 40
TAIL_LINES = 60
DEFAULT_MAX_LINES = 200
JSON_ITEMS = 3
JSON_STRING = 200
SECTION_LINES = 60


@dataclass
class Compressed:
    kind: Kind
    text: str
    raw_chars: int
    raw_lines: int
    error_lines: int

    @property
    def tokens_before(self) -> int:
        return estimate_tokens(self.raw_chars)

    @property
    def tokens_after(self) -> int:
        return estimate_tokens(len(self.text))


def clean(text: str) -> list[str]:
    """ANSI-free lines; a carriage return keeps only what was drawn last on that line."""
    lines = []
    for line in ANSI.sub("", text).split("\n"):
        if "\r" in line:
            line = line.rstrip("\r").rsplit("\r", 1)[-1]
        lines.append(line.rstrip())
    while lines and not lines[-1]:
        lines.pop()
    return lines


def is_error(line: str) -> bool:
    return bool(ERROR_LINE.search(line)) and not NOT_ERROR.search(line)


def detect(text: str) -> Kind:
    """The kind of output ``text`` looks like."""
    head = text[:20_000]
    stripped = text.strip()
    if re.search(r"^diff --git ", head, re.M) or (
        re.search(r"^@@ -\d", head, re.M) and re.search(r"^\+\+\+ ", head, re.M)
    ):
        return "git_diff"
    if re.search(r"^(On branch |HEAD detached|Changes (not staged|to be committed)|Untracked files:)", head, re.M):
        return "git_status"
    if "test session starts" in head or re.search(r"^=+ .*\b(passed|failed|errors?)\b.* in [\d.]+s", text, re.M):
        return "pytest"
    if stripped[:1] in "{[":
        try:
            json.loads(stripped)
            return "json"
        except (ValueError, RecursionError):  # RecursionError: deeper than the interpreter can decode
            pass
    if re.search(r"^\S+:\d+(:\d+)?: (error|warning)|^error(\[E\d+\])?: |error TS\d+:", head, re.M):
        return "compiler"
    if "Traceback (most recent call last):" in head:
        return "traceback"
    return "log"


# --- filters: lines in, lines out ------------------------------------------------------------------


def _pytest(lines: list[str]) -> list[str]:
    out: list[str] = []
    passing = 0
    section: list[str] | None = None

    def close_section() -> None:
        if section is None:
            return
        if len(section) <= SECTION_LINES:
            out.extend(section)
            return
        keep = [ln for ln in section[SECTION_LINES // 2 :] if is_error(ln) or re.match(r"^\S+:\d+: ", ln)]
        out.extend(section[: SECTION_LINES // 2])
        out.append(f"    [... {len(section) - SECTION_LINES // 2 - len(keep)} lines of this failure omitted ...]")
        out.extend(keep)

    for line in lines:
        if re.match(r"^\S+\.py [.sxX]+\s*(\[\s*\d+%\])?$", line) or re.search(r" PASSED( |$)", line):
            passing += 1
            continue
        if re.match(r"^_{3,} .* _{3,}$", line) or re.match(r"^=+ .* =+$", line):
            close_section()
            section = [line] if line.startswith("_") else None
            if section is None:
                out.append(line)
            continue
        if section is not None:
            section.append(line)
        elif line.strip():
            out.append(line)
    close_section()
    if passing:
        out.insert(min(1, len(out)), f"[{passing} progress lines with only passing/skipped tests omitted]")
    return out


def _git_diff(lines: list[str]) -> list[str]:
    out = []
    context = 0
    # Every file touched, first: if the view is capped, the agent still sees what changed where.
    files: dict[str, list[int]] = {}
    current = ""
    for line in lines:
        if line.startswith("diff --git "):
            current = line.split(" b/", 1)[-1]
            files[current] = [0, 0]
        elif current and line.startswith("+") and not line.startswith("+++ "):
            files[current][0] += 1
        elif current and line.startswith("-") and not line.startswith("--- "):
            files[current][1] += 1
    if len(files) > 1:
        out.append(f"[{len(files)} files: " + ", ".join(f"{f} (+{a} -{d})" for f, (a, d) in files.items()) + "]")
    for line in lines:
        if line.startswith(" ") or line == "":
            context += 1
            continue
        if line.startswith("index ") or line.startswith("\\ No newline"):
            continue
        out.append(line)
    if context:
        out.append(f"[{context} unchanged context lines omitted; hunk headers give positions]")
    return out


def _git_status(lines: list[str]) -> list[str]:
    out: list[str] = []
    section = ""
    groups: dict[str, list[str]] = {}
    for line in lines:
        if not line.strip() or line.strip().startswith("(use ") or line.strip().startswith('(use "'):
            continue
        if line.endswith(":") and not line.startswith("\t"):
            section = {"Changes to be committed:": "staged", "Changes not staged for commit:": "unstaged"}.get(
                line, "untracked" if line.startswith("Untracked") else line.rstrip(":").lower()
            )
            continue
        porcelain = re.match(r"^([ MADRCU?!]{2}) (.+)$", line)
        entry = line.strip()
        if line.startswith("\t") or line.startswith("        "):
            state, _, name = entry.partition(":   ") if ":   " in entry else ("", "", entry)
            key = f"{section} {state.strip()}".strip() if state else section
            groups.setdefault(key, []).append(name.strip() or entry)
        elif porcelain:
            groups.setdefault(porcelain.group(1).strip() or "?", []).append(porcelain.group(2))
        else:
            out.append(line)
    for key, names in groups.items():
        out.append(f"{key} ({len(names)}): " + ", ".join(names))
    return out


def _compiler(lines: list[str]) -> list[str]:
    out: list[str] = []
    seen: dict[str, int] = {}
    for line in lines:
        if re.match(r"^\s*(\d+\s*)?\|", line) or re.match(r"^\s*[\^~\-+]+\s*$", line) or re.match(r"^\s+\^", line):
            continue  # source excerpts and carets: the location line already points there
        if line.strip() and (is_error(line) or "warning" in line.lower()):
            normal = re.sub(r"\d+", "N", line)
            if normal in seen and not is_error(line):
                seen[normal] += 1
                continue
            seen[normal] = seen.get(normal, 0) + 1
        if line.strip():
            out.append(line)
    repeats = {k: n for k, n in seen.items() if n > 1}
    if repeats:
        out.append(f"[{sum(repeats.values()) - len(repeats)} repeated warnings omitted]")
    return out


def _mentions_error(value: Any) -> bool:
    if isinstance(value, str):
        return is_error(value)
    if isinstance(value, list):
        return any(_mentions_error(v) for v in value)
    if isinstance(value, dict):
        return any(is_error(str(k)) or _mentions_error(v) for k, v in value.items())
    return False


def _shorten(value: Any) -> Any:
    """The first items of long arrays (and every item that mentions an error), strings cut short (unless errors)."""
    if isinstance(value, list):
        items = [_shorten(v) for i, v in enumerate(value) if i < JSON_ITEMS or _mentions_error(v)]
        if len(value) > len(items):
            items.append(f"... {len(value) - len(items)} more items")
        return items
    if isinstance(value, dict):
        return {k: _shorten(v) for k, v in value.items()}
    if isinstance(value, str) and len(value) > JSON_STRING and not is_error(value):
        return value[:JSON_STRING] + f"... (+{len(value) - JSON_STRING} chars)"
    return value


def _json(lines: list[str]) -> list[str]:
    try:
        value = json.loads("\n".join(lines))
        return [json.dumps(_shorten(value), ensure_ascii=False, separators=(",", ":"))]
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to walk: treat it as a log
        return _log(lines)


LIBRARY_FRAME = re.compile(r'^\s*File "[^"]*(site-packages|dist-packages|/lib/python\d|<frozen )')


def _skipped(out: list[str], library: int, repeats: int) -> tuple[int, int]:
    """Say what the traceback filter skipped since the last kept line; the counters start again."""
    if library:
        out.append(f"  [... {library} library frames omitted ...]")
    if repeats:
        out.append(f"  [previous frame repeated {repeats} more times]")
    return 0, 0


def _traceback(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    library = 0
    last_frame = ""
    repeats = 0
    while i < len(lines):
        line = lines[i]
        frame = re.match(r'^\s*File "', line)
        if frame:
            code = (
                lines[i + 1]
                if i + 1 < len(lines) and not re.match(r'^\s*File "', lines[i + 1]) and lines[i + 1].startswith("    ")
                else None
            )
            step = 2 if code is not None else 1
            if LIBRARY_FRAME.match(line):
                library += 1
                i += step
                continue
            if line == last_frame:
                repeats += 1
                i += step
                continue
            library, repeats = _skipped(out, library, repeats)
            last_frame = line
            out.append(line)
            if code is not None:
                out.append(code)
            i += step
            continue
        library, repeats = _skipped(out, library, repeats)
        out.append(line)
        i += 1
    return _log(out)


def _log(lines: list[str]) -> list[str]:
    out: list[str] = []
    shape_of_prev = None
    similar = 0
    blank = False
    for line in lines:
        if not line.strip():
            if not blank and out:
                out.append("")
            blank = True
            continue
        blank = False
        shape = re.sub(r"0x[0-9a-f]+|\d+", "N", line.lower())
        if shape == shape_of_prev and not is_error(line):
            similar += 1
            continue
        if similar:
            out.append(f"  [+{similar} similar lines]")
            similar = 0
        shape_of_prev = shape
        out.append(line)
    if similar:
        out.append(f"  [+{similar} similar lines]")
    return out


FILTERS: dict[Kind, Callable[[list[str]], list[str]]] = {
    "pytest": _pytest,
    "git_diff": _git_diff,
    "git_status": _git_status,
    "compiler": _compiler,
    "json": _json,
    "traceback": _traceback,
    "log": _log,
}


def _cap(lines: list[str], max_lines: int) -> list[str]:
    if len(lines) <= max_lines:
        return lines
    head = max(min(HEAD_LINES, max_lines // 3), 1)
    tail = max(min(TAIL_LINES, max_lines - head), 1)
    middle = lines[head : len(lines) - tail]
    errors = [ln for ln in middle if is_error(ln)]
    return [*lines[:head], f"[... {len(middle) - len(errors)} lines omitted ...]", *errors, *lines[len(lines) - tail :]]


def _missing_errors(raw: Iterable[str], kept: list[str]) -> list[str]:
    present = set(kept)
    missing: list[str] = []
    for line in raw:
        if is_error(line) and line not in present:
            present.add(line)
            missing.append(line)
    return missing


def compress(text: str, kind: Kind | Literal["auto"] = "auto", max_lines: int = DEFAULT_MAX_LINES) -> Compressed:
    """A compact view of ``text`` that keeps every error line verbatim."""
    chosen: Kind = detect(text) if kind == "auto" else kind
    lines = clean(text)
    kept = _cap(FILTERS[chosen](lines), max_lines)
    # JSON keeps its error-bearing values (and the items holding them) inside the structure instead.
    missing = [] if chosen == "json" else _missing_errors(lines, kept)
    if missing:
        kept = [*kept, "[kept error lines]", *missing]
    errors = len({ln for ln in lines if is_error(ln)})
    out = "\n".join(kept)
    if len(out) > len(text):  # markers and kept error lines can outgrow a short or error-dense input: never larger
        out = text
    return Compressed(kind=chosen, text=out, raw_chars=len(text), raw_lines=len(lines), error_lines=errors)


class RawStore:
    """Raw outputs by id, in the router's database; the oldest beyond ``max_outputs`` are pruned."""

    def __init__(self, db: Database, max_bytes: int, max_outputs: int) -> None:
        self.db = db
        self.max_bytes = max_bytes
        self.max_outputs = max_outputs

    def save(self, raw: str, compressed: Compressed) -> str:
        size = len(raw.encode("utf-8", errors="replace"))
        if size > self.max_bytes:
            raise InvalidRequestError(f"output is {size} bytes; the limit is {self.max_bytes} (setting max_raw_bytes)")
        output_id = "out_" + uuid.uuid4().hex[:16]
        self.db.write(
            "INSERT INTO raw_outputs VALUES (?, ?, ?, ?, ?)",
            (output_id, time.time(), compressed.kind, raw, compressed.text),
        )
        self.db.write(
            "DELETE FROM raw_outputs WHERE id NOT IN (SELECT id FROM raw_outputs ORDER BY created DESC LIMIT ?)",
            (self.max_outputs,),
        )
        self.db.flush()  # durable before the id is handed out
        return output_id

    def get(self, output_id: str) -> tuple[str, str]:
        """(kind, raw text) of an output."""
        rows = self.db.query("SELECT kind, raw FROM raw_outputs WHERE id = ?", (output_id,))
        if not rows:
            raise NotFoundError(f"no raw output '{output_id}' (ids look like out_<16 hex>; old ones are pruned)")
        return rows[0][0], rows[0][1]
