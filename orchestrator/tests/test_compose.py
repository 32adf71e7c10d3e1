"""compose.yaml and the Dockerfile, checked without a Docker engine (none runs here): the Compose
Specification JSON schema, console scripts that exist, and the same servers, ports and env as `strata up`."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft201909Validator

from strata.orchestrator.settings import DEFAULT_SERVERS
from strata.orchestrator.up import DEFAULT_PORTS, Supervisor

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    spec = importlib.util.find_spec("compose")  # docker-compose 1.29.2, installed without its dependencies
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "config" / "compose_spec.json"
    return json.loads(path.read_text())


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any], schema: dict[str, Any]) -> None:
    validator = Draft201909Validator(schema)
    assert [e.message for e in validator.iter_errors(compose)] == []
    broken = copy.deepcopy(compose)  # the check can fail: a typo and a wrong type are both caught
    broken["services"]["memory"]["comand"] = broken["services"]["memory"].pop("command")
    broken["services"]["voice"]["ports"] = "8105"
    assert len(list(validator.iter_errors(broken))) == 2


def test_every_server_runs_its_console_script_on_http_with_health_checks(compose: dict[str, Any]) -> None:
    scripts = {e.name for d in distributions() for e in d.entry_points if e.group == "console_scripts"}
    services = compose["services"]
    assert set(services) == {*DEFAULT_SERVERS, "qdrant", "vllm"}
    for name in DEFAULT_SERVERS:
        service, port = services[name], str(DEFAULT_PORTS[name])
        command = service["command"]
        assert command[0] == f"strata-{name}" and command[0] in scripts
        assert command[1:5] == ["serve", "--transport", "http", "--host"] and command[6:8] == ["--port", port]
        assert service["ports"] == [f"127.0.0.1:{port}:{port}"]  # loopback only
        assert service["environment"]["PORT"] == port and "/healthz" in " ".join(service["healthcheck"]["test"])
        assert service["env_file"] == ".env" and set(service["profiles"]) == {name, "all"}
        assert any(v.endswith(":/data") for v in service["volumes"]) and service["build"]["target"] == name
    memory = services["memory"]
    assert memory["environment"]["STRATA_MEMORY_QDRANT_URL"] == "http://qdrant:6333"
    assert memory["depends_on"]["qdrant"]["condition"] == "service_healthy"
    assert services["qdrant"]["image"].startswith("qdrant/qdrant:") and services["qdrant"]["volumes"]
    assert services["vllm"]["profiles"] == ["vllm"]
    assert services["llm"]["environment"]["STRATA_LLM_REMOTES__VLLM__BASE_URL"] == "http://vllm:8000/v1"
    assert set(compose["volumes"]) >= {f"{n}-data" for n in DEFAULT_SERVERS} | {"qdrant-data"}


def test_strata_up_starts_the_same_servers_with_the_same_ports_and_env(compose: dict[str, Any], tmp_path: Path) -> None:
    supervisor = Supervisor(list(DEFAULT_SERVERS), tmp_path)
    assert [c.name for c in supervisor.children] == [n for n in DEFAULT_PORTS]
    for child in supervisor.children:
        ours, theirs = child.command, compose["services"][child.name]["command"]
        assert Path(ours[0]).name == theirs[0]
        assert ours[1:5] == theirs[1:5] and ours[6:8] == theirs[6:8]  # serve --transport http --host H --port P
        assert child.env["STRATA_TOKEN"] == supervisor.token  # compose: STRATA_TOKEN from .env
    router_up = next(c for c in supervisor.children if c.name == "router").env
    router_compose = compose["services"]["router"]["environment"]
    for key in ("STRATA_ROUTER_PROVIDERS__LOCAL__BASE_URL", "STRATA_ROUTER_PROVIDERS__LOCAL__API_KEY_ENV"):
        assert key in router_up and key in router_compose
    assert router_up["STRATA_ROUTER_PROVIDERS__LOCAL__BASE_URL"] == "http://127.0.0.1:8101/v1"
    assert router_compose["STRATA_ROUTER_PROVIDERS__LOCAL__BASE_URL"] == "http://llm:8101/v1"


def test_every_variable_compose_reads_is_documented_in_the_env_example() -> None:
    text = (ROOT / "compose.yaml").read_text()
    used = set(re.findall(r"\$\{(\w+)", text)) | {"STRATA_TOKEN", "COMPOSE_PROFILES"}
    documented = set(re.findall(r"^(\w+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert used <= documented


def test_each_image_installs_only_its_own_server(compose: dict[str, Any]) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = dict(re.findall(r"^FROM \S+ AS (\S+)\n(.*?)(?=^FROM |\Z)", dockerfile, re.MULTILINE | re.DOTALL))
    for name in DEFAULT_SERVERS:
        assert name in stages and f"build-{name}" in stages
        copied = re.findall(r"^COPY servers/(\w+)", stages[f"build-{name}"], re.MULTILINE)
        assert copied == [name]
        cmd = json.loads(re.search(r"^CMD (\[.*\])$", stages[name], re.MULTILINE).group(1))  # type: ignore[union-attr]
        assert cmd == compose["services"][name]["command"]
