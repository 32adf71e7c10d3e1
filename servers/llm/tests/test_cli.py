"""The strata-llm command line: CliRunner for the commands, real processes for signals."""

import json
import signal
import subprocess
from pathlib import Path

from click.testing import CliRunner

from strata.llm.__main__ import cli

from .conftest import STRATA_LLM, server_env, start_http_server, stop, write_config


def test_models_lists_the_default_and_the_bundled_model() -> None:
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("smollm2-135m-instruct (default)\tllama-cpp\tctx=2048\t")
    assert "bundled smollm2-135m-instruct\tchat\tApache-2.0\t" in result.output


def test_chat_prints_an_answer() -> None:
    result = CliRunner().invoke(cli, ["chat", "Name a fruit.", "--max-tokens", "12", "--temperature", "0"])
    assert result.exit_code == 0, result.output
    assert len(result.output.strip()) > 0


def test_chat_with_a_json_schema_prints_valid_json() -> None:
    schema = '{"type":"object","properties":{"fruit":{"type":"string"}},"required":["fruit"]}'
    result = CliRunner().invoke(cli, ["chat", "Name a fruit.", "--json-schema", schema, "--max-tokens", "30"])
    assert result.exit_code == 0, result.output
    assert isinstance(json.loads(result.output)["fruit"], str)


def test_chat_with_a_model_path(model_path: Path) -> None:
    result = CliRunner().invoke(cli, ["chat", "Hi", "--model", str(model_path), "--max-tokens", "4"])
    assert result.exit_code == 0, result.output


def test_unknown_model_is_a_one_line_error() -> None:
    result = CliRunner().invoke(cli, ["chat", "Hi", "--model", "llama-9000"])
    assert result.exit_code == 1
    assert "Error: model_not_found: Unknown model 'llama-9000'" in result.output
    assert "Traceback" not in result.output


def test_serving_beyond_loopback_without_a_token_is_refused() -> None:
    result = CliRunner().invoke(cli, ["serve", "--transport", "http", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "requires a bearer token" in result.output


def test_bad_config_value_names_the_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, "[llm]\nthreads = 0\n")
    result = CliRunner().invoke(cli, ["models"], env={"STRATA_CONFIG": str(config)})
    assert result.exit_code == 1
    assert "Error: config_error: invalid setting 'threads' in LlmSettings" in result.output
    assert "(got 0)" in result.output and "Traceback" not in result.output


def test_sigterm_stops_the_http_server_gracefully(tmp_path: Path) -> None:
    server = start_http_server(tmp_path, "[llm]\nthreads = 1\n", token=None)
    server.process.send_signal(signal.SIGTERM)
    stop(server)
    # uvicorn drains, runs the lifespan shutdown, then re-raises the signal so the exit status says SIGTERM.
    assert server.process.returncode in (0, -signal.SIGTERM)
    events = [json.loads(line)["event"] for line in server.log.read_text().splitlines()]
    assert events.index("Shutting down") < events.index("Application shutdown complete.")


def test_stdio_server_exits_cleanly_on_sigterm_and_keeps_stdout_for_the_protocol(tmp_path: Path) -> None:
    config = write_config(tmp_path, "[llm]\nthreads = 1\n")
    process = subprocess.Popen(
        [STRATA_LLM, "serve"],
        env=server_env(config),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None and process.stdout is not None
    for _ in range(50):  # wait for the "serving" log line on stderr
        line = process.stderr.readline()
        if b'"serving"' in line:
            break
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert out == b""  # nothing but protocol messages may appear on stdout, and none were asked for
    assert b"shutting_down" in err
