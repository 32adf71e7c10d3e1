"""The ``strata`` command: find the Strata servers and check that each answers over MCP."""

from __future__ import annotations

import json
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

import anyio
import click

from strata.orchestrator.clients import CLIENTS
from strata.orchestrator.discovery import ServerReport
from strata.shared import telemetry
from strata.shared.cli import report_errors
from strata.shared.settings import user_dir

__all__ = ["cli", "installed_servers", "main"]


def installed_servers() -> dict[str, str]:
    """Console scripts named ``strata-<server>`` from installed distributions, with their versions."""
    found: dict[str, str] = {}
    for dist in distributions():
        for entry in dist.entry_points:
            if entry.group == "console_scripts" and entry.name.startswith("strata-"):
                found[entry.name] = dist.version
    return dict(sorted(found.items()))


@click.group()
def cli() -> None:
    """Strata: local-first MCP servers for LLM features.

    \b
    Example usage:
        strata servers
        strata ask "move every LDAP login to the SSO module" --repo . --voice
        strata up --only codegraph,memory
    """


@cli.command(name="servers")
@click.option("--only", default=None, help="Comma-separated server names to check")
@click.option("--timeout", "timeout_s", type=click.FloatRange(1, 600), default=60.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per server")
@click.option(
    "--logs",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where stdio servers' stderr goes [default: <STRATA_HOME>/logs]",
)
@report_errors
def servers_list(only: str | None, timeout_s: float, as_json: bool, logs: Path | None) -> None:
    """Check each configured server: transport, health, tools (as <server>.<tool>) and ping latency.

    Servers come from [servers.<name>] in strata.toml (command/args for stdio, url + token_env for
    HTTP); without any, the five Strata servers installed here run over stdio. A server that is
    missing or broken is reported and the rest are still checked; the exit code is 1 if any failed.

    \b
    Example usage:
        strata servers
        strata servers --only codegraph,memory
    """
    from pydantic import ValidationError

    from strata.orchestrator.discovery import probe_all
    from strata.orchestrator.settings import OrchestratorSettings
    from strata.shared.cli import config_error

    try:
        specs = OrchestratorSettings.load().resolved()
    except ValidationError as exc:
        raise config_error(exc) from exc
    if only:
        wanted = [name.strip() for name in only.split(",") if name.strip()]
        unknown = [name for name in wanted if name not in specs]
        if unknown:
            raise click.BadParameter(
                f"no server named {', '.join(unknown)}; known: {', '.join(specs)}", param_hint="--only"
            )
        specs = {name: specs[name] for name in wanted}
    logs = logs if logs is not None else user_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    reports = anyio.run(lambda: probe_all(specs, timeout_s=timeout_s, log_dir=logs))
    if as_json:
        for report in reports:
            click.echo(json.dumps(report.model_dump()))
    else:
        _print_table(reports)
    if any(report.health != "ok" for report in reports):
        raise SystemExit(1)


def _print_table(reports: list[ServerReport]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for column in ("server", "transport", "health", "ping ms", "tools"):
        table.add_column(column)
    for r in reports:
        tools = r.error or ", ".join(t.split(".", 1)[1] for t in r.tools)
        health = f"[green]{r.health}[/]" if r.health == "ok" else f"[red]{r.health}[/]"
        ping = f"{r.ping_ms:.2f}" if r.ping_ms is not None else "-"
        table.add_row(r.name, f"{r.transport} {r.target}", health, ping, tools)
    Console(width=160).print(table)


@cli.command(name="installed")
def installed_list() -> None:
    """List the Strata server commands installed in this environment, with versions.

    \b
    Example usage:
        strata installed
    """
    servers = installed_servers()
    if not servers:
        raise click.ClickException("no Strata server is installed - `pip install ./servers/llm`, for example")
    for script, version in servers.items():
        click.echo(f"{script}\t{version}")


REQUEST_MAX_CHARS = 2000
REPO_OPTION = click.option(
    "--repo", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."), show_default=True
)


def _console() -> Any:
    import os
    import sys

    from rich.console import Console

    # Piped output (make run, CI logs) gets a usable width instead of rich's 80 columns.
    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "120"))
    return Console(highlight=False, width=width)


def _settings() -> Any:
    from pydantic import ValidationError

    from strata.orchestrator.agent.settings import AskSettings
    from strata.shared.cli import config_error

    try:
        return AskSettings()
    except ValidationError as exc:
        raise config_error(exc) from exc


def _drive(thread: Any, *, interactive: bool) -> Any:
    """Run ``thread`` to its end or its pause, printing each step; return the thread."""
    from strata.orchestrator.agent.connect import connections
    from strata.orchestrator.agent.render import StepPrinter, print_outcome
    from strata.orchestrator.agent.toolbox import Toolbox
    from strata.orchestrator.agent.trace import Trace, servers_needed

    settings = _settings()
    console = _console()
    repo = Path(thread.repo)
    log_dir = user_dir() / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)

    async def approver(current: Any) -> bool | None:
        if not interactive:
            return None
        answer = await anyio.to_thread.run_sync(
            lambda: click.prompt(
                "Apply these changes? (y)es / (n)o / (l)ater", type=click.Choice(["y", "n", "l"]), default="l"
            )
        )
        return {"y": True, "n": False}.get(answer)

    console.print(f"[bold]strata ask[/] {thread.request}\n[dim]thread {thread.id} · repo {repo}[/]")
    needed = servers_needed(thread)
    with connections(repo, voice=thread.options.voice, log_dir=log_dir) as conn:
        for note in conn.notes:
            console.print(f"[dim]{note}[/]")
        specs = {name: spec for name, spec in conn.specs.items() if name in needed}

        async def go() -> None:
            async with Toolbox(
                thread, specs, tokens=conn.tokens, log_dir=log_dir, max_retries=settings.max_retries,
                connect_timeout_s=settings.connect_timeout_s, tool_timeout_s=settings.tool_timeout_s,
            ) as tools:  # fmt: skip
                for name, error in tools.down.items():
                    console.print(f"[red]{name} unavailable:[/] {error}")
                await Trace(thread, tools, settings, on_step=StepPrinter(console), approver=approver).run()

        telemetry.setup("strata-orchestrator")
        try:
            anyio.run(go)
        finally:
            telemetry.flush()  # the thread's spans, before this process exits
    print_outcome(console, thread)
    return thread


def _exit_for(thread: Any) -> None:
    outcome = thread.trace()["outcome"]
    if outcome is not None and (outcome["status"] == "failed" or (outcome["test_failures"] or 0) > 0):
        raise SystemExit(1)


@cli.command(name="ask")
@click.argument("request")
@REPO_OPTION
@click.option("--yes", is_flag=True, help="Approve the edits without asking")
@click.option("--voice", is_flag=True, help="Announce the outcome as audio through the voice server")
@click.option("--test-command", default=None, help="The repo's test command (default: detected)")
@report_errors
def ask(request: str, repo: Path, yes: bool, voice: bool, test_command: str | None) -> None:
    """Run the request trace: memory -> codegraph -> router/plan -> edit agents -> approval -> tests -> voice -> memory.

    Each step is printed as it ends; the thread (the only state) and a JSON trace are written to
    <repo>/.strata/threads/. Without --yes the run asks before applying (in a terminal) or pauses;
    `strata resume THREAD_ID --yes` continues it, in any later process.

    \b
    Example usage:
        strata ask "find all places that authenticate against the legacy LDAP server and refactor them to use the new SSO module" --repo .demo/acme-portal --yes --voice
    """
    import shlex
    import sys

    from strata.orchestrator.agent.thread import Thread, ThreadOptions

    if not request.strip() or len(request) > REQUEST_MAX_CHARS:
        raise click.BadParameter(f"give a request of 1 to {REQUEST_MAX_CHARS} characters", param_hint="REQUEST")
    options = ThreadOptions(yes=yes, voice=voice, test_command=shlex.split(test_command) if test_command else None)
    thread = Thread.start(request.strip(), repo.resolve(), options)
    _exit_for(_drive(thread, interactive=sys.stdin.isatty() and not yes))


@cli.command(name="resume")
@click.argument("thread_id")
@REPO_OPTION
@click.option("--yes", is_flag=True, help="Approve the pending edits")
@click.option("--reject", is_flag=True, help="Reject the pending edits (the thread still finishes)")
@report_errors
def resume(thread_id: str, repo: Path, yes: bool, reject: bool) -> None:
    """Continue a thread that paused for approval, or that stopped part-way.

    \b
    Example usage:
        strata resume t-20261124-101500-a1b2c3 --repo .demo/acme-portal --yes
    """
    import sys

    from strata.orchestrator.agent.render import print_outcome
    from strata.orchestrator.agent.thread import load_thread

    if yes and reject:
        raise click.UsageError("give --yes or --reject, not both")
    try:
        thread = load_thread(repo.resolve(), thread_id)
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    if thread.finished:
        print_outcome(_console(), thread)
        _exit_for(thread)
        return
    if thread.awaiting_approval and (yes or reject):
        thread.add(
            "approval", "approval", {"approved": yes, "by": "strata resume --yes" if yes else "strata resume --reject"}
        )
    _exit_for(_drive(thread, interactive=sys.stdin.isatty() and not (yes or reject)))


@cli.command(name="up")
@click.option("--only", default=None, help="Comma-separated servers to start (default: all five)")
@click.option(
    "--repo", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."), show_default=True,
    help="The repository codegraph serves",
)  # fmt: skip
@click.option("--base-port", type=click.IntRange(1024, 65530), default=None,
              help="Ports base..base+4 for llm, codegraph, memory, router, voice [default: 8101..8105]")  # fmt: skip
@report_errors
def up(only: str | None, repo: Path, base_port: int | None) -> None:
    """Start the servers on streamable HTTP on loopback, supervised, until Ctrl-C.

    One generated bearer token protects them all; their URLs and the token go to the state file
    (<STRATA_HOME>/up.json, mode 0600) that `strata ask`, `strata status` and `strata down` read.
    A server that exits is restarted with a back-off (1 s doubling to 30 s).

    \b
    Example usage:
        strata up
        strata up --only codegraph,memory --repo ~/src/app
    """
    from strata.orchestrator.settings import DEFAULT_SERVERS
    from strata.orchestrator.up import Supervisor, read_state, state_file

    running = read_state()
    if running is not None:
        raise click.ClickException(f"strata up is already running (pid {running.pid}) - `strata down` first")
    names = [n.strip() for n in only.split(",") if n.strip()] if only else list(DEFAULT_SERVERS)
    try:
        supervisor = Supervisor(names, repo, base_port=base_port)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--only") from exc
    console = _console()
    try:
        supervisor.start(lambda name, url: console.print(f"[green]✓[/] {name:<9} {url}/mcp"))
    except KeyboardInterrupt:
        supervisor.stop()
        raise SystemExit(130) from None
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"state and token: {state_file()} · logs: {supervisor.log_dir} · Ctrl-C or `strata down` stops them")
    supervisor.run(lambda name, what: console.print(f"[yellow]{name}[/] {what}"))
    console.print("stopped")


@cli.command(name="down")
@click.option("--timeout", "timeout_s", type=click.FloatRange(1, 600), default=60.0, show_default=True)
def down(timeout_s: float) -> None:
    """Stop the servers that `strata up` runs.

    \b
    Example usage:
        strata down
    """
    import os
    import signal
    import time

    from strata.orchestrator.up import pid_alive, read_state, state_file

    state = read_state()
    if state is None:
        click.echo("nothing is running")
        return
    os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s

    def running() -> bool:  # the supervisor removes the state file once every server has stopped
        return pid_alive(state.pid) and state_file().exists()

    while running() and time.monotonic() < deadline:
        time.sleep(0.2)
    if running():
        for server in state.servers.values():
            if pid_alive(server.pid):
                os.kill(server.pid, signal.SIGKILL)
        os.kill(state.pid, signal.SIGKILL)
        raise click.ClickException(f"strata up (pid {state.pid}) did not stop within {timeout_s:g} s; killed it")
    click.echo(f"stopped {', '.join(state.servers)}")


@cli.command(name="status")
@click.option("--json", "as_json", is_flag=True)
def status(as_json: bool) -> None:
    """Show what `strata up` runs: URL, pid, health and restarts per server; exit 1 if not all healthy.

    \b
    Example usage:
        strata status
    """
    from strata.orchestrator.up import healthy, pid_alive, read_state

    state = read_state()
    if state is None:
        if as_json:
            click.echo(json.dumps({"running": False}))
        else:
            click.echo("nothing is running - `strata up` starts the servers")
        raise SystemExit(1)
    rows = [
        {"server": name, "url": s.url, "pid": s.pid, "alive": pid_alive(s.pid),
         "healthy": healthy(s.url.rsplit("/mcp", 1)[0]), "restarts": s.restarts}
        for name, s in state.servers.items()
    ]  # fmt: skip
    if as_json:
        click.echo(json.dumps({"running": True, "pid": state.pid, "repo": state.repo, "servers": rows}))
    else:
        from rich.table import Table

        table = Table()
        for column in ("server", "url", "pid", "health", "restarts"):
            table.add_column(column)
        for row in rows:
            health = "[green]ok[/]" if row["healthy"] else "[red]down[/]"
            table.add_row(str(row["server"]), str(row["url"]), str(row["pid"]), health, str(row["restarts"]))
        console = _console()
        console.print(f"strata up (pid {state.pid}) serving {state.repo}")
        console.print(table)
    if not all(row["healthy"] for row in rows):
        raise SystemExit(1)


CLIENT_CHOICE = click.Choice(list(CLIENTS))
SCOPE_OPTION = click.option(
    "--scope", type=click.Choice(["project", "user", "local"]), default=None,
    help="project (in --repo), user (your home), local (claude-code: this project, in ~/.claude.json) "
    "[default: project; codex and claude-desktop: user]",
)  # fmt: skip
LAYOUT_OPTION = click.option(
    "--layout", type=click.Choice(["v1", "v2"]), default=None,
    help="opencode: mcp.<name> (v1) or mcp.servers.<name> (v2) [default: from the file or `opencode --version`]",
)  # fmt: skip


def _print_change(change: Any, dry_run: bool) -> None:
    from rich.syntax import Syntax

    console = _console()
    if dry_run:
        if change.diff:
            console.print(Syntax(change.diff, "diff", theme="ansi_dark", background_color="default"))
        else:
            console.print(f"no change to {change.location.path}")
    elif change.written:
        backup = f" (backup: {change.backup})" if change.backup else ""
        console.print(f"wrote {change.location.path}{backup}")
    for name in change.added:
        console.print(f"[green]+[/] {name}")
    for name in change.removed:
        console.print(f"[red]-[/] {name}")
    for note in change.skipped:
        console.print(f"[yellow]·[/] {note}")
    for note in change.kept:
        console.print(f"[yellow]·[/] {note}")


@cli.command(name="traces")
@click.argument("trace_id", required=False)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Traces to list")
@click.option("--json", "as_json", is_flag=True)
def traces(trace_id: str | None, limit: int, as_json: bool) -> None:
    """List recent traces from the local span store, or show one as a tree (spans, services, latency, tokens, cost).

    \b
    Example usage:
        strata traces
        strata traces 4bf92f3577b34da6a3ce929d0e0e4736
    """
    from strata.shared.telemetry import SpanStore, TelemetrySettings

    path = TelemetrySettings().store_path
    if not path.exists():
        raise click.ClickException(f"no spans yet: {path} does not exist (they are written as Strata processes run)")
    store = SpanStore(path)
    try:
        if trace_id is None:
            rows = store.recent_traces(limit)
            if as_json:
                click.echo(json.dumps(rows))
            for row in [] if as_json else rows:
                click.echo(
                    f"{row['trace_id']}  {row['root'][:40]:40}  {row['spans']:4} spans  {row['duration_ms']:9.1f} ms  "
                    f"{','.join(s.removeprefix('strata-') for s in row['services'])}"
                    + (f"  [{row['errors']} errors]" if row["errors"] else "")
                )
            return
        spans = store.trace(trace_id)
    finally:
        store.close()
    if not spans:
        raise click.ClickException(f"no trace {trace_id} in {path}")
    if as_json:
        click.echo(json.dumps(spans))
        return
    _print_tree(spans)


def _print_tree(spans: list[dict[str, Any]]) -> None:
    from strata.orchestrator.dashboard.data import span_tree

    shown = ("gen_ai.request.model", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "strata.cost_usd",
             "strata.cache", "strata.escalations", "error.type")  # fmt: skip
    for row in span_tree(spans):
        extra = " ".join(f"{k.split('.')[-1]}={row.attributes[k]}" for k in shown if k in row.attributes)
        mark = " [ERROR]" if row.status == "ERROR" else ""
        click.echo(
            f"{row.offset_ms:9.1f} ms {row.duration_ms:9.1f} ms  {'  ' * row.depth}{row.name}"
            f"  ({row.service.removeprefix('strata-')}){mark}  {extra}".rstrip()
        )


DASHBOARD_PORT = 8100


@cli.command(name="dashboard")
@click.option("--host", default="127.0.0.1", show_default=True, help="Beyond loopback needs a strong --token")
@click.option("--port", type=click.IntRange(0, 65535), default=DASHBOARD_PORT, show_default=True,
              help="0: any free port")  # fmt: skip
@click.option("--token", envvar="STRATA_TOKEN", default=None, help="[default: STRATA_TOKEN, else a new random one]")
@report_errors
def dashboard(host: str, port: int, token: str | None) -> None:
    """Serve a page over the local span store: threads, trace waterfalls, the router's spend, servers' health.

    \b
    Example usage:
        strata dashboard
        strata dashboard --port 0
    """
    import secrets
    import socket

    import uvicorn

    from strata.orchestrator.dashboard.app import create_app
    from strata.orchestrator.up import healthy, read_state
    from strata.shared.http_guard import check_token
    from strata.shared.runner import http_config
    from strata.shared.telemetry import SpanStore, TelemetrySettings

    loopback = host in {"127.0.0.1", "localhost", "::1"}
    if not token:
        token = secrets.token_urlsafe(24)
    elif not loopback:
        check_token(token)

    def up_status() -> list[dict[str, Any]] | None:
        state = read_state()
        if state is None:
            return None
        return [
            {"server": name, "url": s.url, "healthy": healthy(s.url.rsplit("/mcp", 1)[0], timeout_s=1.0),
             "restarts": s.restarts}
            for name, s in state.servers.items()
        ]  # fmt: skip

    settings = TelemetrySettings()
    store = SpanStore(settings.store_path, settings.max_age_days, settings.max_mb)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(
            128
        )  # connections wait in the backlog from now on, before uvicorn starts: the URL works once printed
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror} (try --port 0)") from exc
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Strata dashboard: http://{shown}:{bound}/?token={token}", err=False)
    click.echo(f"spans from {settings.store_path}; Ctrl-C stops it", err=True)
    config = http_config(create_app(store, token, loopback=loopback, up_status=up_status), host, bound)
    config.lifespan = "off"
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        store.close()


@cli.command(name="register")
@click.argument("client", type=CLIENT_CHOICE)
@click.argument("servers", nargs=-1)
@SCOPE_OPTION
@click.option("--transport", type=click.Choice(["stdio", "http"]), default=None,
              help="stdio (default): the client starts the server; http: it connects to `strata up`")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Show the diff, write nothing")
@click.option("--force", is_flag=True, help="Replace a same-named entry strata did not write (or that was edited)")
@click.option("--profile", default=None, help="[profiles.NAME] in strata.toml: its servers, transport and scope; "
              "strata's other entries in that file are removed (switching profiles)")  # fmt: skip
@LAYOUT_OPTION
@REPO_OPTION
@report_errors
def register_cmd(
    client: str, servers: tuple[str, ...], scope: str | None, transport: str | None, dry_run: bool, force: bool,
    profile: str | None, layout: str | None, repo: Path,
) -> None:  # fmt: skip
    """Add Strata servers (default: all five) to a coding agent's MCP config, changing nothing else.

    Entries are named strata-<server> and start this environment's absolute strata-<server> (stdio),
    or point at `strata up` with the bearer token as a $STRATA_TOKEN reference (http). Other entries,
    comments and formatting stay as they are; the old file is backed up under <STRATA_HOME>/backups.

    \b
    Example usage:
        strata register claude-code codegraph memory --dry-run
        strata register codex --transport http
        strata register opencode --scope user --layout v2
        strata register claude-code --profile lean      # [profiles.lean] in strata.toml
    """
    from strata.orchestrator.clients import DEFAULT_SCOPES
    from strata.orchestrator.register import register, unregister
    from strata.orchestrator.settings import DEFAULT_SERVERS, load_profile

    chosen = load_profile(profile, repo.resolve()) if profile else None
    if chosen is not None:
        servers = servers or tuple(chosen.servers)
        transport = transport or chosen.transport
        scope = scope or chosen.scope
    transport = transport or "stdio"
    scope = scope or DEFAULT_SCOPES[client]
    try:
        change = register(
            client, list(servers), scope=scope, transport=transport, repo=repo, dry_run=dry_run, force=force,
            layout=layout,
        )  # fmt: skip
        others = [s for s in DEFAULT_SERVERS if s not in servers]
        if chosen is not None and others:  # the profile is the whole set: strata's entries outside it go
            dropped = unregister(client, others, scope=scope, repo=repo, dry_run=dry_run, force=force, layout=layout)
            change.removed, change.kept = dropped.removed, change.kept + dropped.kept
            change.skipped += [n for n in dropped.skipped if "edited by hand" in n]
    except ValueError as exc:  # RegistrationError goes to report_errors: one "<code>: <message>" line
        raise click.ClickException(str(exc)) from exc
    _print_change(change, dry_run)
    if transport == "http" and change.added:
        click.echo("the client sends $STRATA_TOKEN: export it, and start the servers with the same value: strata up")
    if not dry_run:
        from strata.orchestrator.trust import gates

        names = change.added + [note.split(":", 1)[0] for note in change.skipped if note.endswith("already registered")]
        steps = dict.fromkeys(gate.next_step for gate in gates(client, change.location.scope, repo, names).values())
        for step in steps:  # one line per distinct step
            click.echo(f"next: {step}")


@cli.command(name="unregister")
@click.argument("client", type=CLIENT_CHOICE)
@click.argument("servers", nargs=-1)
@SCOPE_OPTION
@click.option("--dry-run", is_flag=True, help="Show the diff, write nothing")
@click.option("--force", is_flag=True, help="Also remove strata entries edited by hand since")
@LAYOUT_OPTION
@REPO_OPTION
@report_errors
def unregister_cmd(
    client: str, servers: tuple[str, ...], scope: str | None, dry_run: bool, force: bool, layout: str | None,
    repo: Path,
) -> None:  # fmt: skip
    """Remove exactly the entries `strata register` added (default: all of them) from a client's config.

    \b
    Example usage:
        strata unregister claude-code
        strata unregister cursor voice --scope user
    """
    from strata.orchestrator.clients import DEFAULT_SCOPES
    from strata.orchestrator.register import unregister

    try:
        change = unregister(
            client, list(servers), scope=scope or DEFAULT_SCOPES[client], repo=repo, dry_run=dry_run, force=force,
            layout=layout,
        )  # fmt: skip
    except ValueError as exc:  # RegistrationError goes to report_errors: one "<code>: <message>" line
        raise click.ClickException(str(exc)) from exc
    _print_change(change, dry_run)


@cli.command(name="doctor")
@click.argument("client", type=CLIENT_CHOICE, required=False)
@click.option("--timeout", "timeout_s", type=click.FloatRange(1, 600), default=60.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry")
@REPO_OPTION
@report_errors
def doctor_cmd(client: str | None, timeout_s: float, as_json: bool, repo: Path) -> None:
    """Start each registered strata-* server the way its client would and check MCP initialize + tools/list.

    stdio entries run with their own argv, env and cwd and PATH trimmed to /usr/bin:/bin (as GUI clients
    often start them); http entries are reached with their headers, variables expanded. Exit 1 if any fails.

    \b
    Example usage:
        strata doctor
        strata doctor cursor --json
    """
    from strata.orchestrator.register import doctor

    log_dir = user_dir() / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    clients: list[str] = [client] if client else [str(c) for c in CLIENTS]
    root = repo.resolve()
    rows = anyio.run(lambda: doctor(clients, root, timeout_s=timeout_s, log_dir=log_dir))
    if not rows:
        click.echo(f"no strata-* server is registered in {', '.join(clients)} (project {root} or user scope)")
        raise SystemExit(1)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
    else:
        from rich.table import Table

        table = Table()
        for column in ("client", "scope", "server", "transport", "health", "tools", "problem"):
            table.add_column(column)
        for row in rows:
            health = f"[green]{row['health']}[/]" if row["health"] == "ok" else f"[red]{row['health']}[/]"
            table.add_row(row["client"], row["scope"], row["server"], row["transport"], health, str(row["tools"]),
                          row["error"])  # fmt: skip
        _console().print(table)
    if any(row["health"] != "ok" for row in rows):
        raise SystemExit(1)


def main() -> None:
    cli()
