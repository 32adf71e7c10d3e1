import json
import logging

import pytest

from strata.shared.log import configure_logging, get_logger, redact


def test_redact_hides_secret_keys_bearer_tokens_and_api_keys() -> None:
    event = {
        "api_key": "abc",
        "headers": {"Authorization": "Bearer s3cr3t", "accept": "json"},
        "note": "called with Bearer tok-123 and sk-abcdefghijkl",
        "items": ["Bearer zzz"],
        "token": None,
    }
    out = redact(event)
    assert out["api_key"] == "***"
    assert out["headers"] == {"Authorization": "***", "accept": "json"}
    assert out["note"] == "called with Bearer *** and ***"
    assert out["items"] == ["Bearer ***"]
    assert out["token"] is None
    # An echoed header in free text: the token goes, not just the word "Bearer" (it used to stay).
    echoed = redact("upstream said: Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345")
    assert "abcdefghijklmnopqrstuvwxyz012345" not in echoed and echoed.startswith("upstream said: Authorization: ***")


def test_logs_are_json_on_stderr_never_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    configure_logging("info")
    get_logger("t").info("hello", token="s3cr3t", url="http://x")
    logging.getLogger("uvicorn.error").warning("from stdlib Bearer abc.def")
    out, err = capfd.readouterr()
    assert out == ""
    lines = [json.loads(line) for line in err.strip().splitlines()]
    assert lines[0]["event"] == "hello" and lines[0]["token"] == "***" and lines[0]["level"] == "info"
    assert lines[1]["event"] == "from stdlib Bearer ***"


def test_level_filters_debug(capfd: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning")
    get_logger("t").info("quiet")
    get_logger("t").warning("loud")
    _, err = capfd.readouterr()
    assert "quiet" not in err and "loud" in err
