from click.testing import CliRunner

from strata.orchestrator.cli import cli, installed_servers


def test_installed_servers_finds_the_llm_server() -> None:
    assert "strata-llm" in installed_servers()


def test_servers_command_lists_each_server_with_its_version() -> None:
    result = CliRunner().invoke(cli, ["servers"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("strata-llm\t"))
    assert line.split("\t")[1] == "0.1.0"
