"""`strata ask` end to end: real server processes (stdio, and HTTP from `strata up`), the bundled model.

Asserts structure and real effects, never model wording: every step ends, the patch applies to a
pristine copy and its tests pass, the WAV transcribes back to the announcement, the outcome stored
by one run is recalled by the next, a paused thread resumes in another process, and a server killed
mid-trace gives a degraded outcome instead of a hang.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from strata.orchestrator.agent.thread import STEPS, Thread, load_thread, thread_dir
from strata.orchestrator.cli import cli
from strata.shared.telemetry import SpanStore

BIN = Path(sys.executable).parent
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme-portal"
REQUEST = "find all places that authenticate against the legacy LDAP server and refactor them to use the new SSO module"
EDITED = ("acme/admin/cli.py", "acme/api/tokens.py", "acme/web/views.py")  # the files that call the LDAP helper
NUMBERS = {1: "one", 2: "two", 3: "three"}
RUN_TIMEOUT_S = 600

pytestmark = pytest.mark.slow


def sample(where: Path) -> Path:
    repo = where / "acme-portal"  # the same directory name each time: the memory scope is project:acme-portal
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(".strata", "__pycache__"))
    return repo


def strata(*args: str, timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "strata"), *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        check=False,
    )  # fmt: skip


def the_thread(repo: Path) -> Thread:
    files = [p for p in thread_dir(repo).glob("t-*.json") if not p.name.endswith(".trace.json")]
    assert len(files) == 1, files
    return load_thread(repo, files[0].stem)


def transports(thread: Thread) -> dict[str, str]:
    return {str(e.data["server"]): str(e.data["transport"]) for e in thread.events if e.type == "connected"}


def assert_one_trace(thread: Thread, servers: set[str]) -> None:
    """One ``strata ask`` is one trace across its processes: the orchestrator's ``invoke_agent`` span is the root,
    each server's MCP spans hang under the orchestrator's client spans (the ``traceparent`` crossed in ``_meta``), and
    the router's model calls carry GenAI attributes. Spans come from the local store every process writes to."""
    store = SpanStore(Path(os.environ["STRATA_HOME"]) / "telemetry" / "spans.db")
    wanted = {"strata-orchestrator", *(f"strata-{name}" for name in servers)}
    deadline = time.monotonic() + 30  # HTTP servers export in batches (every 0.5 s); stdio ones flushed at exit
    while True:
        roots = [
            row[0] for row in store.query("SELECT trace_id, attributes FROM spans WHERE name = 'invoke_agent strata-ask'")
            if json.loads(row[1]).get("gen_ai.conversation.id") == thread.id
        ]  # fmt: skip
        spans = store.trace(roots[0]) if len(roots) == 1 else []
        if wanted <= {s["service"] for s in spans} or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(roots) == 1, roots
    assert wanted <= {s["service"] for s in spans}, {s["service"] for s in spans}
    by_id = {s["span_id"]: s for s in spans}
    [root] = [s for s in spans if s["parent_id"] is None]
    assert root["name"] == "invoke_agent strata-ask" and root["attributes"]["gen_ai.operation.name"] == "invoke_agent"
    served = [s for s in spans if s["kind"] == "SERVER"]
    assert served and all(
        by_id[s["parent_id"]]["service"] == "strata-orchestrator" and by_id[s["parent_id"]]["kind"] == "CLIENT"
        for s in served
    )
    tool_calls = [s for s in spans if s["name"].startswith("tools/call ")]
    assert tool_calls and all(s["attributes"]["gen_ai.operation.name"] == "execute_tool" for s in tool_calls)
    steps = {s["attributes"]["strata.step"] for s in spans if s["name"].startswith("step ")}
    assert {"recall", "symbols", "plan", "edits", "store"} <= steps
    chats = [s for s in spans if s["service"] == "strata-router" and s["name"].startswith("chat ")]
    assert chats and all(
        c["kind"] == "CLIENT" and c["attributes"]["gen_ai.operation.name"] == "chat"
        and c["attributes"]["gen_ai.usage.input_tokens"] > 0 and "gen_ai.request.model" in c["attributes"]
        for c in chats
    )  # fmt: skip
    names = {s["name"] for s in spans}
    assert {"search_memory strata-memory", "create_memory strata-memory", "speak"} <= names, names
    served_by_llm = [s for s in spans if s["service"] == "strata-llm" and s["name"].startswith("chat ")]
    assert served_by_llm and all(by_id[s["parent_id"]]["name"].startswith("chat ") for s in served_by_llm)
    for chat in chats + served_by_llm:  # each model call reaches the root through its parents
        node = chat
        while node["parent_id"] is not None:
            node = by_id[node["parent_id"]]
        assert node is root
    store.close()


def assert_applies_cleanly_and_passes(thread: Thread, tmp_path: Path) -> None:
    pristine = sample(tmp_path / f"pristine-{thread.id}")
    patch = Path(thread.result("apply")["patch"]).read_text()
    # Which lines move is the model's call (rewrite or keep, per line); the effects must hold either way.
    edited = sorted(e["file"] for e in thread.result("edits")["edits"])
    assert edited and set(edited) <= set(EDITED)
    assert sorted(re.findall(r"^\+\+\+ b/(\S+)", patch, re.MULTILINE)) == edited
    check = subprocess.run(["git", "apply", "--check", "-"], input=patch, text=True, cwd=pristine, capture_output=True)
    assert check.returncode == 0, check.stderr
    subprocess.run(["git", "apply", "-"], input=patch, text=True, cwd=pristine, check=True)
    for path in edited:
        assert (pristine / path).read_text() == (Path(thread.repo) / path).read_text()
        assert "sso_authenticate" in (pristine / path).read_text()
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=pristine,
                           capture_output=True, text=True)  # fmt: skip
    assert tests.returncode == 0, tests.stdout


def test_full_trace_over_stdio_then_recall_pause_and_resume(tmp_path: Path) -> None:
    repo = sample(tmp_path / "first")
    done = strata("ask", REQUEST, "--repo", str(repo), "--yes", "--voice")
    assert done.returncode == 0, done.stdout + done.stderr
    first = the_thread(repo)
    assert [e.step for e in first.events if e.type == "step_done"] == list(STEPS)
    assert transports(first) == {"memory": "stdio", "codegraph": "stdio", "router": "stdio", "voice": "stdio"}
    outcome = first.trace()["outcome"]
    changed = outcome["files_changed"]
    assert outcome["status"] == "completed" and 1 <= changed <= 3 and outcome["test_failures"] == 0
    plan = first.result("plan")
    assert (plan["replace"]["id"], plan["with"]["id"]) == (
        "acme.auth.ldap_helper.ldap_authenticate", "acme.auth.sso.sso_authenticate",
    )  # fmt: skip
    calls = first.trace()["calls"]
    model_calls = [c for c in calls if c["tool"] == "complete"]
    assert len(model_calls) >= 4 and all(
        c["model"] and c["tokens_in"] > 0 and c["outcome"] == "ok" for c in model_calls
    )
    assert all({"server", "tool", "latency_ms", "outcome"} <= set(c) for c in calls)
    assert json.loads((thread_dir(repo) / f"{first.id}.trace.json").read_text())["outcome"] == outcome
    assert_applies_cleanly_and_passes(first, tmp_path)
    assert_one_trace(first, {"memory", "codegraph", "router", "voice"})

    wav = Path(first.result("announce")["path"])
    assert wav.read_bytes()[:4] == b"RIFF"
    heard = subprocess.run([str(BIN / "strata-voice"), "transcribe", str(wav)], capture_output=True, text=True,
                           timeout=300)  # fmt: skip
    words = re.sub(r"[^a-z0-9 ]", " ", heard.stdout.lower())
    # Piper's speech is sampled (no fixed noise), and Whisper once heard "Refactor complete" as "Earth actor complete":
    # the announcement is checked by its last word and its count, not by that one word
    assert re.search(r"\bcomplete\b", " ".join(words.split())), heard.stdout
    assert re.search(rf"\b({changed}|{NUMBERS[changed]}) files? changed\b", " ".join(words.split())), heard.stdout

    # The first outcome is a memory anchored to the code of both functions (their codegraph content hashes).
    stored_id = first.result("store")["id"]
    assert first.result("symbols")["anchors"] == {"checked": True, "symbols": 0, "marked": []}  # nothing anchored yet

    # A second run on a fresh copy whose sso_authenticate has since changed: recalls the first outcome, flags it
    # for review after the reindex (its code changed), pauses for approval (no terminal, no --yes).
    repo2 = sample(tmp_path / "second")
    sso = repo2 / "acme" / "auth" / "sso.py"
    sso.write_text(sso.read_text().replace("    if found is None:\n", "    if found is None:  # unknown user\n"))
    paused = strata("ask", REQUEST, "--repo", str(repo2))
    assert paused.returncode == 0, paused.stdout + paused.stderr
    second = the_thread(repo2)
    assert second.awaiting_approval and not second.finished
    assert any(first.id in memory["text"] for memory in second.result("recall")["memories"])
    anchors = second.result("symbols")["anchors"]
    assert anchors["checked"] and anchors["symbols"] == 2
    assert anchors["marked"] == [{"id": stored_id, "reasons": [
        "the code of acme/auth/sso.py::sso_authenticate changed since this was written"]}]  # fmt: skip
    assert all("ldap_authenticate" in (repo2 / path).read_text() for path in EDITED)  # nothing applied yet
    assert f"strata resume {second.id}" in " ".join(paused.stdout.split())

    resumed = strata("resume", second.id, "--repo", str(repo2), "--yes")  # another process
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    second = load_thread(repo2, second.id)
    assert second.finished and second.trace()["outcome"]["status"] == "completed"
    assert second.result("approval") == {"summary": "approved by strata resume --yes", "approved": True}
    assert all("sso_authenticate" in (repo2 / e["file"]).read_text() for e in second.result("edits")["edits"])
    assert second.trace()["outcome"]["files_changed"] >= 1
    again = strata("resume", second.id, "--repo", str(repo2))  # a finished thread only reports
    assert again.returncode == 0 and "completed" in again.stdout


def test_a_server_killed_mid_trace_gives_a_degraded_outcome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = sample(tmp_path)
    pidfile = tmp_path / "voice.pid"
    wrapper = tmp_path / "voice-once.sh"
    wrapper.write_text(  # starts the real voice server once; a restart after the kill is refused
        f'#!/bin/sh\nif [ -e "{pidfile}" ]; then echo "voice: refusing to restart" >&2; exit 1; fi\n'
        f'echo $$ > "{pidfile}"\nexec "{BIN / "strata-voice"}" serve\n'
    )
    wrapper.chmod(0o755)
    config = tmp_path / "strata.toml"
    config.write_text(f'[servers.voice]\ncommand = "{wrapper}"\n')
    monkeypatch.setenv("STRATA_CONFIG", str(config))
    process = subprocess.Popen(
        [str(BIN / "strata"), "ask", REQUEST, "--repo", str(repo), "--yes", "--voice"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while not list(thread_dir(repo).glob("t-*.json")):  # saved after the first step: every server is connected
            assert process.poll() is None and time.monotonic() < deadline, (
                process.stdout.read() if process.stdout else ""
            )
            time.sleep(0.2)
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
        output, _ = process.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    thread = the_thread(repo)
    assert transports(thread)["voice"] == "stdio"
    outcome = thread.trace()["outcome"]
    assert outcome["status"] == "degraded" and outcome["unavailable_servers"] == ["voice"], outcome
    assert outcome["files_changed"] >= 1
    announce = thread.outcome_of("announce")
    assert announce is not None and announce.type == "step_skipped" and "voice" in announce.data["summary"]
    speak = thread.tool_calls("announce")[0].data
    assert speak["outcome"] == "unavailable" and speak["attempts"] >= 1
    assert thread.result("store")["id"]  # the rest of the trace went on
    said = " ".join(output.split())  # rich wraps to the terminal width
    assert f"degraded: {outcome['message']}" in said and "Unavailable: voice." in said
    assert outcome["message"].startswith("Refactor complete,")


def _free_base_port() -> int:
    for base in range(23101, 60000, 97):
        try:
            for port in range(base, base + 5):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no five free ports")


def test_strata_up_serves_the_trace_over_http_restarts_a_crash_and_stops(tmp_path: Path) -> None:
    repo = sample(tmp_path)
    home = Path(os.environ["STRATA_HOME"])
    log_path = tmp_path / "up.log"
    log = log_path.open("w")
    up = subprocess.Popen(
        [str(BIN / "strata"), "up", "--repo", str(repo), "--base-port", str(_free_base_port())],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not (home / "up.json").exists():
            assert up.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.5)
        assert (home / "up.json").stat().st_mode & 0o077 == 0  # the token is readable by the owner only
        status = json.loads(strata("status", "--json").stdout)
        assert status["running"] and [s["server"] for s in status["servers"]] == [
            "llm",
            "codegraph",
            "memory",
            "router",
            "voice",
        ]
        assert all(s["healthy"] for s in status["servers"])

        done = strata("ask", REQUEST, "--repo", str(repo), "--yes", "--voice")
        assert done.returncode == 0, done.stdout + done.stderr
        thread = the_thread(repo)
        assert transports(thread) == {"memory": "http", "codegraph": "http", "router": "http", "voice": "http"}
        assert thread.trace()["outcome"]["status"] == "completed"
        assert_applies_cleanly_and_passes(thread, tmp_path)
        assert_one_trace(thread, {"memory", "codegraph", "router", "voice"})

        memory_pid = next(s["pid"] for s in status["servers"] if s["server"] == "memory")
        os.kill(memory_pid, signal.SIGKILL)
        deadline = time.monotonic() + 120
        while True:
            now = json.loads(strata("status", "--json").stdout)
            memory = next(s for s in now["servers"] if s["server"] == "memory")
            if memory["restarts"] >= 1 and memory["healthy"]:
                break
            assert time.monotonic() < deadline, now
            time.sleep(1)
        assert memory["pid"] != memory_pid

        pids = [s["pid"] for s in json.loads(strata("status", "--json").stdout)["servers"]]
        stopped = strata("down")
        assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stdout + stopped.stderr
        up.wait(timeout=60)
        assert not (home / "up.json").exists()
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        assert strata("status").returncode == 1
        assert "memory exited with -9; restarting in 1 s" in log_path.read_text()
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGINT)
            up.wait(timeout=60)
        log.close()


def test_bad_requests_get_clear_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(cli, ["ask", "  ", "--repo", str(tmp_path)])
    assert empty.exit_code == 2 and "request of 1 to 2000 characters" in empty.output
    bad_id = runner.invoke(cli, ["resume", "../../x", "--repo", str(tmp_path)])
    assert bad_id.exit_code == 1 and "is not a thread id" in bad_id.output
    missing = runner.invoke(cli, ["resume", "t-20260101-000000-abcdef", "--repo", str(tmp_path)])
    assert missing.exit_code == 1 and "no thread t-20260101-000000-abcdef" in missing.output
    both = runner.invoke(cli, ["resume", "t-20260101-000000-abcdef", "--yes", "--reject"])
    assert both.exit_code == 2 and "not both" in both.output
    assert runner.invoke(cli, ["up", "--only", "nope"]).exit_code == 2
    assert runner.invoke(cli, ["down"]).output.strip() == "nothing is running"


def test_in_a_terminal_the_run_asks_before_applying(tmp_path: Path) -> None:
    import pty
    import select

    repo = sample(tmp_path)
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [str(BIN / "strata"), "ask", REQUEST, "--repo", str(repo)], stdin=slave, stdout=slave, stderr=slave,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    os.close(slave)
    seen, answered = b"", False
    deadline = time.monotonic() + RUN_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
                if not answered and b"Apply these changes?" in seen:
                    assert all("ldap_authenticate" in (repo / p).read_text() for p in EDITED)  # asked first
                    os.write(master, b"y\n")
                    answered = True
            elif process.poll() is not None:
                break
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    assert answered, seen.decode(errors="replace")[-2000:]
    assert process.returncode == 0, seen.decode(errors="replace")[-2000:]
    thread = the_thread(repo)
    assert [e.type for e in thread.events if e.step == "approval"] == ["awaiting_approval", "approval", "step_done"]
    assert thread.result("approval") == {"summary": "approved by human", "approved": True}
    assert thread.trace()["outcome"]["status"] == "completed"


def test_a_request_naming_what_the_code_does_not_have_stops_and_says_so(tmp_path: Path) -> None:
    repo = sample(tmp_path)
    done = strata("ask", "move the calls of hash_password to the new SSO module", "--repo", str(repo), "--yes")
    assert done.returncode != 0, done.stdout
    thread = the_thread(repo)
    [symbols] = [e for e in thread.events if e.type == "step_failed" and e.step == "symbols"]
    message = str(symbols.data["summary"])
    assert message.startswith("the request names hash_password, which the code graph does not define")
    assert "searched: hash_password" in message and "ldap_authenticate" not in message
    assert not thread.result("plan") and not thread.result("edits")
    assert not any(e.step == "plan" and e.type == "tool_call" for e in thread.events)  # no model was asked


@pytest.mark.parametrize(
    ("request_text", "names"),
    [
        ("move the calls of hash_password to bcrypt_hash", ["hash_password", "bcrypt_hash"]),
        ("replace `login` with auth.LdapClient.bind", ["login", "bind"]),
        ("rename getUser everywhere", ["getUser"]),
        ("refactor the legacy LDAP calls to use the new SSO module", []),  # acronyms are words
    ],
)
def test_the_names_a_request_spells_out(request_text: str, names: list[str]) -> None:
    from strata.orchestrator.agent.trace import request_names

    assert request_names(request_text) == names
