"""Edit one member of a JSON (or JSONC) document and leave every other byte as it was.

Client config files are hand-edited: re-serialising them would reorder keys, drop comments (JSONC)
and reformat what the user wrote. This parser keeps the span of every value, so ``set_member`` and
``delete_member`` splice text: the new member is indented like its neighbours, and everything outside
it is untouched.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from strata.orchestrator.errors import JsonEditError

__all__ = ["JsonEditError", "delete_member", "get", "loads", "set_member"]

WHITESPACE = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)*", re.DOTALL)
NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"')


@dataclass
class Node:
    start: int
    end: int
    value: Any = None
    members: list[Member] = field(default_factory=list)  # objects only, in order
    is_object: bool = False


@dataclass
class Member:
    key: str
    start: int  # where the key's quote opens
    value: Node
    comma_end: int | None = None  # just past a comma that follows the member, if any


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> JsonEditError:
        line = self.text.count("\n", 0, self.pos) + 1
        return JsonEditError(f"{what} at line {line}")

    def skip(self) -> None:
        self.pos = WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def value(self) -> Node:
        self.skip()
        start, char = self.pos, self.text[self.pos : self.pos + 1]
        if char == "{":
            return self.object()
        if char == "[":
            return self.array()
        if char == '"':
            match = STRING.match(self.text, self.pos)
            if not match:
                raise self.fail("unterminated string")
            self.pos = match.end()
            return Node(start, self.pos, json.loads(match.group()))
        for word, literal in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return Node(start, self.pos, literal)
        match = NUMBER.match(self.text, self.pos)
        if not match:
            raise self.fail("expected a value")
        self.pos = match.end()
        return Node(start, self.pos, json.loads(match.group()))

    def object(self) -> Node:
        node = Node(self.pos, self.pos, {}, is_object=True)
        self.pos += 1
        while True:
            self.skip()
            if self.text.startswith("}", self.pos):
                self.pos += 1
                node.end = self.pos
                node.value = {m.key: m.value.value for m in node.members}
                return node
            match = STRING.match(self.text, self.pos)
            if not match:
                raise self.fail("expected a key")
            key_start = self.pos
            self.pos = match.end()
            self.skip()
            if not self.text.startswith(":", self.pos):
                raise self.fail("expected ':'")
            self.pos += 1
            member = Member(json.loads(match.group()), key_start, self.value())
            node.members.append(member)
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                member.comma_end = self.pos
            elif not self.text.startswith("}", self.pos):
                raise self.fail("expected ',' or '}'")

    def array(self) -> Node:
        node = Node(self.pos, self.pos, [])
        self.pos += 1
        items: list[Any] = []
        while True:
            self.skip()
            if self.text.startswith("]", self.pos):
                self.pos += 1
                node.end, node.value = self.pos, items
                return node
            items.append(self.value().value)
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif not self.text.startswith("]", self.pos):
                raise self.fail("expected ',' or ']'")


def _parse(text: str) -> Node:
    parser = _Parser(text)
    root = parser.value()
    parser.skip()
    if parser.pos != len(text):
        raise parser.fail("unexpected text after the document")
    return root


def loads(text: str) -> Any:
    """The document's value (comments and trailing commas allowed)."""
    return _parse(text).value


def _find(root: Node, path: list[str]) -> Node | None:
    node: Node | None = root
    for key in path:
        if node is None or not node.is_object:
            return None
        node = next((m.value for m in node.members if m.key == key), None)
    return node


def get(text: str, path: list[str]) -> Any:
    node = _find(_parse(text), path)
    return None if node is None else node.value


def _end_of_line(text: str, pos: int) -> int:
    """``pos``, or the end of its line when only spaces and a // comment follow on that line."""
    eol = text.find("\n", pos)
    eol = len(text) if eol == -1 else eol
    rest = text[pos:eol].strip()
    return eol if not rest or rest.startswith("//") else pos


def _line_indent(text: str, pos: int) -> str:
    line_start = text.rfind("\n", 0, pos) + 1
    return re.match(r"[ \t]*", text[line_start:]).group()  # type: ignore[union-attr]


def _unit(text: str) -> str:
    match = re.search(r"\n([ \t]+)\S", text)
    return match.group(1) if match else "  "


def _render(value: Any, indent: str, unit: str) -> str:
    width = len(unit) if unit.strip(" ") == "" else 1
    lines = json.dumps(value, indent=width if unit[0] == " " else None, ensure_ascii=False).splitlines()
    if unit[0] == "\t":
        lines = json.dumps(value, indent="\t", ensure_ascii=False).splitlines()
    return "\n".join([lines[0], *[indent + line for line in lines[1:]]])


def set_member(text: str, path: list[str], key: str, value: Any) -> str:
    """Set ``key`` in the object at ``path`` (created if missing) to ``value``; keep all other bytes."""
    if not text.strip():
        nested: Any = {key: value}
        for part in reversed(path):
            nested = {part: nested}
        return json.dumps(nested, indent=2, ensure_ascii=False) + "\n"
    root = _parse(text)
    if not root.is_object:
        raise JsonEditError("the document is not a JSON object")
    unit = _unit(text)
    node, missing = root, list(path)
    while missing:
        child = _find(node, [missing[0]])
        if child is None:
            break
        if not child.is_object:
            raise JsonEditError(f"'{'.'.join(path[: len(path) - len(missing) + 1])}' is not an object")
        node = child
        missing.pop(0)
    insert_key = missing[0] if missing else key
    new_value: Any = value
    for part in reversed([*missing[1:], key] if missing else []):
        new_value = {part: new_value}
    existing = next((m for m in node.members if m.key == insert_key), None)
    if existing is not None:
        indent = _line_indent(text, existing.start)
        return text[: existing.value.start] + _render(new_value, indent, unit) + text[existing.value.end :]
    if node.members:
        last = node.members[-1]
        indent = _line_indent(text, last.start)
        member = f"{json.dumps(insert_key)}: {_render(new_value, indent, unit)}"
        after = last.comma_end if last.comma_end is not None else last.value.end
        eol = _end_of_line(text, after)  # a comment after the last member stays on its line
        if last.comma_end is not None:  # JSONC trailing comma: keep that style
            return text[:eol] + f"\n{indent}{member}," + text[eol:]
        return text[:after] + "," + text[after:eol] + f"\n{indent}{member}" + text[eol:]
    outer = _line_indent(text, node.start)
    indent = outer + unit
    member = f"{json.dumps(insert_key)}: {_render(new_value, indent, unit)}"
    inner = text[node.start + 1 : node.end - 1]
    comments = inner.strip()
    body = f"\n{indent}{comments}" if comments else ""
    return text[: node.start] + "{" + body + f"\n{indent}{member}\n{outer}" + "}" + text[node.end :]


def delete_member(text: str, path: list[str], key: str) -> str:
    """Remove ``key`` from the object at ``path`` with its comma; other bytes stay. No-op if absent."""
    root = _parse(text)
    node = _find(root, path)
    if node is None or not node.is_object:
        return text
    index = next((i for i, m in enumerate(node.members) if m.key == key), None)
    if index is None:
        return text
    member = node.members[index]
    line_start = text.rfind("\n", 0, member.start) + 1
    start = line_start if not text[line_start : member.start].strip() else member.start
    if index + 1 < len(node.members):  # not the last: cut up to the next member (its line, if it has one)
        nxt = node.members[index + 1]
        next_line = text.rfind("\n", 0, nxt.start) + 1
        end = next_line if next_line > start and not text[next_line : nxt.start].strip() else nxt.start
        return text[:start] + text[end:]
    if member.comma_end is not None:  # the last, with a trailing comma (JSONC)
        end = member.comma_end
        blank = re.match(r"[ \t]*\n", text[end:])
        if start == line_start and blank:
            end += blank.end()
        return text[:start] + text[end:]
    if index == 0:  # the only member: leave an empty object
        return text[: node.start] + "{}" + text[node.end :]
    previous = node.members[index - 1]  # the last of several: its comma goes with it
    assert previous.comma_end is not None
    comma = text.rfind(",", 0, previous.comma_end)
    return text[:comma] + text[member.value.end :]
