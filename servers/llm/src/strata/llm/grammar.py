"""A json_schema becomes a llama.cpp grammar in a checked step, so no schema can crash the process.

llama-cpp-python's converter writes ``maxLength: n`` (and ``maxItems``, ``minLength``, ...) as ``n``
nested optional groups. llama.cpp's parser refuses a grammar past about 2,000 repetitions, and one with
left recursion (a ``$ref`` that reaches itself before any output), by returning a NULL sampler, which
llama-cpp-python then adds to its sampler chain: the process dies with SIGSEGV (measured: maxLength
5000, maxItems 2000, ``$defs.a = {"$ref": "#/$defs/a"}``). So, before any generation:

1. the schema is walked: ``$ref`` must be local (``#/$defs/...``, ``#/definitions/...``), a cycle of
   references that produces no output before it comes round (left recursion) is refused, every count
   (lengths, items, properties, pattern quantifiers) is at most ``MAX_REPETITION``, nesting at most
   ``MAX_DEPTH``;
2. it is converted (the converter's own errors become ``invalid_schema``);
3. the grammar text is bounded (``MAX_GRAMMAR_BYTES``);
4. llama.cpp parses it against the model's vocabulary (:func:`check_parses`); a refusal is ``invalid_schema``,
   never a NULL sampler.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from strata.llm.errors import InvalidSchemaError

if TYPE_CHECKING:
    from llama_cpp import Llama

__all__ = ["MAX_DEPTH", "MAX_GRAMMAR_BYTES", "MAX_REPETITION", "check_parses", "schema_grammar"]

# llama.cpp refuses more than 2,000 repeated rules; the converter nests one group per count.
MAX_REPETITION = 1000
MAX_DEPTH = 32
MAX_GRAMMAR_BYTES = 256 * 1024
COUNT_KEYWORDS = ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties")
# Keywords whose subschemas are matched at the same output position as their parent: a $ref reached
# only through these (and $ref itself) has produced nothing yet.
SAME_POSITION = ("anyOf", "oneOf", "allOf")
PATTERN_COUNT = re.compile(r"\{\s*(\d+)\s*(?:,\s*(\d*)\s*)?\}")
LOCAL_REF = re.compile(r"^#/(\$defs|definitions)/[^/]+$")


def schema_grammar(schema: dict[str, Any]) -> str:
    """The GBNF grammar for ``schema``, after the checks above; raises InvalidSchemaError."""
    _check_schema(schema)
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        grammar: str = json_schema_to_gbnf(json.dumps(schema))
    except RecursionError as exc:
        raise InvalidSchemaError(f"json_schema is nested too deeply (limit {MAX_DEPTH} levels)") from exc
    except Exception as exc:  # the converter raises assorted errors (KeyError, AssertionError, ...)
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InvalidSchemaError(f"json_schema cannot be compiled to a grammar: {detail}") from exc
    if len(grammar) > MAX_GRAMMAR_BYTES:
        raise InvalidSchemaError(
            f"json_schema makes a grammar of {len(grammar):,} bytes; the limit is {MAX_GRAMMAR_BYTES:,} "
            "(fewer or shorter alternatives, enums and patterns)"
        )
    return grammar


def check_parses(llama: Llama, grammar: str) -> None:
    """Let llama.cpp parse ``grammar`` now: a grammar it refuses raises instead of crashing the sampler."""
    import llama_cpp

    sampler = llama_cpp.llama_sampler_init_grammar(llama._model.vocab, grammar.encode("utf-8"), b"root")
    if not sampler:
        raise InvalidSchemaError(
            "json_schema cannot be compiled to a grammar: llama.cpp's grammar parser refused it "
            f"(too many repetitions, or a rule that refers to itself first); counts are limited to {MAX_REPETITION}"
        )
    llama_cpp.llama_sampler_free(sampler)


def _check_schema(schema: dict[str, Any]) -> None:
    defs = {
        f"#/{section}/{name}": value for section in ("$defs", "definitions") for name, value in _items(schema, section)
    }
    for path, node, depth in _walk(schema, "#", 0):
        if depth > MAX_DEPTH:
            raise InvalidSchemaError(f"json_schema is nested too deeply at {path} (limit {MAX_DEPTH} levels)")
        for keyword in COUNT_KEYWORDS:
            value = node.get(keyword)
            if isinstance(value, int | float) and not isinstance(value, bool) and value > MAX_REPETITION:
                raise InvalidSchemaError(
                    f"{path}/{keyword} is {value}; grammars allow counts up to {MAX_REPETITION} "
                    "(drop the bound or lower it)"
                )
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            for low, high in PATTERN_COUNT.findall(pattern):
                for count in (low, high):
                    if count and int(count) > MAX_REPETITION:
                        raise InvalidSchemaError(
                            f"{path}/pattern repeats {count} times; grammars allow counts up to {MAX_REPETITION}"
                        )
        ref = node.get("$ref")
        if ref is not None:
            if not isinstance(ref, str) or not LOCAL_REF.match(ref):
                raise InvalidSchemaError(
                    f"{path}/$ref {str(ref)[:100]!r} is not supported: only local references "
                    "('#/$defs/<name>' or '#/definitions/<name>'); nothing is fetched"
                )
            if ref not in defs:
                raise InvalidSchemaError(f"{path}/$ref {ref!r} names no definition in this schema")
    for start in defs:
        _refuse_left_recursion(start, defs)


def _refuse_left_recursion(start: str, defs: dict[str, Any]) -> None:
    """A reference that reaches ``start`` again through same-position keywords only loops without output."""
    seen: set[str] = set()
    frontier = [start]
    while frontier:
        current = frontier.pop()
        for ref in _leading_refs(defs[current]):
            if ref == start:
                raise InvalidSchemaError(
                    f"json_schema refers to {start!r} from itself before any output (left recursion); "
                    "a recursive schema must nest the reference inside an object property or array items"
                )
            if ref in defs and ref not in seen:
                seen.add(ref)
                frontier.append(ref)


def _leading_refs(node: Any) -> Iterator[str]:
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str):
        yield ref
    for keyword in SAME_POSITION:
        branches = node.get(keyword)
        if isinstance(branches, list):
            for branch in branches:
                yield from _leading_refs(branch)


def _walk(node: Any, path: str, depth: int) -> Iterator[tuple[str, dict[str, Any], int]]:
    """Every schema object under ``node`` with its JSON pointer and nesting depth (iterative: no recursion)."""
    stack: list[tuple[Any, str, int]] = [(node, path, depth)]
    while stack:
        current, where, level = stack.pop()
        if isinstance(current, dict):
            yield where, current, level
            children = ((f"{where}/{key}", value) for key, value in current.items())
        elif isinstance(current, list):
            children = ((f"{where}/{index}", value) for index, value in enumerate(current))
        else:
            continue
        if level > MAX_DEPTH:
            continue
        for child_path, child in children:
            if isinstance(child, dict | list):
                stack.append((child, child_path, level + 1))


def _items(schema: dict[str, Any], section: str) -> Iterator[tuple[str, Any]]:
    value = schema.get(section)
    if isinstance(value, dict):
        yield from value.items()
