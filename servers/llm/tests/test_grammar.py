"""The checked schema -> grammar step: the schemas that killed the process now get invalid_schema."""

from pathlib import Path
from typing import Any

import pytest
from llama_cpp import Llama

from strata.llm.errors import InvalidSchemaError
from strata.llm.grammar import MAX_REPETITION, check_parses, schema_grammar

# Each of these made llama-cpp-python add a NULL sampler and die with SIGSEGV (issue 25).
CRASHED = {
    "long string": ({"type": "string", "maxLength": 5000}, r"#/maxLength is 5000; grammars allow counts up to 1000"),
    "long array": (
        {"type": "array", "items": {"type": "integer"}, "maxItems": 2000},
        r"#/maxItems is 2000",
    ),
    "self reference": (
        {"$defs": {"a": {"$ref": "#/$defs/a"}}, "type": "object", "properties": {"x": {"$ref": "#/$defs/a"}}},
        r"refers to '#/\$defs/a' from itself before any output \(left recursion\)",
    ),
    "mutual reference through anyOf": (
        {
            "$defs": {"a": {"anyOf": [{"$ref": "#/$defs/b"}]}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}},
            "type": "array",
            "items": {"$ref": "#/$defs/a"},
        },
        r"left recursion",
    ),
    "pattern quantifier": ({"type": "string", "pattern": "^a{5000}$"}, r"#/pattern repeats 5000 times"),
}


@pytest.mark.parametrize("name", sorted(CRASHED))
def test_schema_that_crashed_the_grammar_engine_is_refused(name: str) -> None:
    schema, message = CRASHED[name]
    with pytest.raises(InvalidSchemaError, match=message):
        schema_grammar(schema)


def test_recursion_through_a_property_is_allowed(model_path: Path) -> None:
    tree = {
        "$defs": {
            "node": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}
        },
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/node"}},
    }
    check_parses(Llama(model_path=str(model_path), vocab_only=True, verbose=False), schema_grammar(tree))


def test_counts_up_to_the_limit_compile_and_parse(model_path: Path) -> None:
    schema = {"type": "array", "items": {"type": "string", "maxLength": MAX_REPETITION}, "maxItems": MAX_REPETITION}
    check_parses(Llama(model_path=str(model_path), vocab_only=True, verbose=False), schema_grammar(schema))


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("https://example.com/schema.json", "only local references"),
        ("#", "only local references"),
        ("#/$defs/missing", "names no definition"),
    ],
)
def test_references_must_be_local_and_exist(ref: str, message: str) -> None:
    with pytest.raises(InvalidSchemaError, match=message):
        schema_grammar({"type": "object", "properties": {"x": {"$ref": ref}}})


def test_deep_schema_is_refused() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(40):
        schema = {"type": "array", "items": schema}
    with pytest.raises(InvalidSchemaError, match="nested too deeply"):
        schema_grammar(schema)


def test_a_grammar_llama_cpp_refuses_raises_instead_of_crashing(model_path: Path) -> None:
    llama = Llama(model_path=str(model_path), vocab_only=True, verbose=False)
    with pytest.raises(InvalidSchemaError, match="grammar parser refused it"):
        check_parses(llama, "root ::= root")
    with pytest.raises(InvalidSchemaError, match="grammar parser refused it"):
        check_parses(llama, 'root ::= "a" (')
