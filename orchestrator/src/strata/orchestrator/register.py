"""``strata register`` / ``unregister`` / ``doctor``: Strata servers in coding agents' config files.

Rules (the complaints about CC Switch are the spec): Strata touches only entries it wrote - named
``strata-<server>`` *and* recorded in ``<STRATA_HOME>/registrations.json`` with a hash of what was
written. Everything else in the file stays byte for byte (JSON and JSONC are spliced, TOML goes
through tomlkit, which keeps comments). An entry of the same name that Strata did not write, or one
edited by hand since, is left alone unless ``force``. Every write is atomic and keeps a backup.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strata.orchestrator.clients import Launch, Location, entry, launch_of, locate
from strata.orchestrator.errors import RegistrationError
from strata.orchestrator.jsonedit import JsonEditError, delete_member, get, set_member
from strata.orchestrator.settings import DEFAULT_SERVERS, server_command
from strata.orchestrator.up import DEFAULT_PORTS, read_state
from strata.shared.settings import user_dir

__all__ = [
    "Change", "RegistrationError", "backup_stamp", "launch_for", "register", "registered_entries", "unregister",
]  # fmt: skip

BACKUPS_KEPT = 10
PREFIX = "strata-"
# Top-level keys a client writes into a config file by itself once it has read it (OpenCode adds its "$schema"):
# a file strata created and that holds only these besides the empty servers table goes with the last entry.
CLIENT_ADDED: dict[str, frozenset[str]] = {"opencode": frozenset({"$schema"})}


@dataclass
class Change:
    location: Location
    before: str
    after: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "<name>: why"
    kept: list[str] = field(default_factory=list)  # what strata created and left, with why
    backup: Path | None = None
    written: bool = False

    @property
    def diff(self) -> str:
        path = str(self.location.path)
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True), self.after.splitlines(keepends=True), path, path
            )
        )


def _fingerprint(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _manifest_path() -> Path:
    return user_dir() / "registrations.json"


def _manifest() -> dict[str, Any]:
    path = _manifest_path()
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _save_manifest(data: dict[str, Any]) -> None:
    path = _manifest_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _key(location: Location) -> str:
    return f"{location.client}|{location.path}|{'.'.join(location.container)}"


def launch_for(server: str, transport: str, scope: str, repo: Path) -> Launch:
    """How a client should start ``server``: this environment's absolute ``strata-<server>`` (stdio), or
    the URL ``strata up`` serves it on (HTTP; its state file if running, else the default port)."""
    if transport == "http":
        state = read_state()
        if state is not None and server in state.servers:
            return Launch(url=state.servers[server].url)
        return Launch(url=f"http://127.0.0.1:{DEFAULT_PORTS[server]}/mcp")
    args: tuple[str, ...] = ("serve",)
    if server == "codegraph" and scope in ("project", "local"):
        args += ("--repo", str(repo.resolve()))
    # Every client on this machine reaches one store: Codex passes a stdio server none of its own environment, so
    # the entry carries the STRATA_HOME in force here (the default one too).
    return Launch(command=server_command(server), args=args, env=(("STRATA_HOME", str(user_dir().resolve())),))


# --- reading and writing one table in one file ------------------------------------------------
def _read_table(location: Location, text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    if location.is_toml:
        import tomlkit

        node: Any = tomlkit.parse(text).unwrap()
        for part in location.container:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node if isinstance(node, dict) else {}
    try:
        table = get(text, list(location.container))
    except JsonEditError as exc:
        raise RegistrationError(f"{location.path} is not valid JSON ({exc}); fix it or move it away") from exc
    return table if isinstance(table, dict) else {}


def _set(location: Location, text: str, name: str, value: dict[str, Any]) -> str:
    if location.is_toml:
        import tomlkit

        doc = tomlkit.parse(text)
        parent: Any = doc
        for part in location.container:
            if part not in parent:
                parent[part] = tomlkit.table(is_super_table=True)
            parent = parent[part]
        table = tomlkit.table()
        for key, item in value.items():
            if isinstance(item, dict):  # env = { STRATA_HOME = "..." } on one line, beside the command
                inline = tomlkit.inline_table()
                inline.update(item)
                item = inline
            table[key] = item
        table.add(tomlkit.nl())  # a blank line before whatever table follows
        parent[name] = table
        return tomlkit.dumps(doc)
    return set_member(text, list(location.container), name, value)


def _delete(location: Location, text: str, name: str) -> str:
    if location.is_toml:
        import tomlkit

        doc = tomlkit.parse(text)
        parent: Any = doc
        for part in location.container:
            if part not in parent:
                return text
            parent = parent[part]
        if name in parent:
            del parent[name]
        if not parent and len(location.container) == 1:
            del doc[location.container[0]]
        return tomlkit.dumps(doc)
    return delete_member(text, list(location.container), name)


def _created_by_us(location: Location, text: str) -> str | list[str] | None:
    """What registering will create: the whole file ("file"), a table path, or nothing."""
    if not text.strip():
        return "file"
    for depth in range(1, len(location.container) + 1):
        prefix = list(location.container[:depth])
        if location.is_toml:
            import tomlkit

            if prefix[0] not in tomlkit.parse(text):
                return prefix
            return None
        if get(text, prefix) is None:
            return prefix
    return None


def _skeleton(location: Location) -> Any:
    nested: Any = {}
    for part in reversed(location.container):
        nested = {part: nested}
    return {} if location.is_toml else nested


def _document(location: Location, text: str) -> Any:
    if location.is_toml:
        import tomlkit

        return tomlkit.parse(text).unwrap()
    return get(text, [])


def backup_stamp(ns: int) -> str:
    """A backup's name prefix, in UTC to the nanosecond (``20261206-091502-123456789``): names sort as times do."""
    seconds, fraction = divmod(ns, 10**9)
    return f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime(seconds))}-{fraction:09d}"


def _write(location: Location, before: str, after: str) -> Path | None:
    """Back the old file up, then replace it atomically (mode kept); returns the backup."""
    path = location.path
    backup = None
    if path.exists():
        folder = user_dir() / "backups" / location.client
        folder.mkdir(parents=True, exist_ok=True)
        backup = folder / f"{backup_stamp(time.time_ns())}-{path.name}"
        # the source's mode from the start: ~/.claude.json is 600 and holds tokens
        fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, path.stat().st_mode & 0o777)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(before)
        os.chmod(backup, path.stat().st_mode & 0o777)  # an older backup of that name had its own mode
        for old in sorted(folder.glob(f"*-{path.name}"))[:-BACKUPS_KEPT]:
            old.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.strata-{os.getpid()}")
    tmp.write_text(after, encoding="utf-8")
    if path.exists():
        os.chmod(tmp, path.stat().st_mode & 0o7777)
    os.replace(tmp, path)
    return backup


# --- the commands -----------------------------------------------------------------------------
def register(
    client: str,
    servers: list[str],
    *,
    scope: str,
    transport: str,
    repo: Path,
    dry_run: bool = False,
    force: bool = False,
    layout: str | None = None,
) -> Change:
    unknown = [s for s in servers if s not in DEFAULT_SERVERS]
    if unknown:
        raise RegistrationError(f"unknown server {', '.join(unknown)}; known: {', '.join(DEFAULT_SERVERS)}")
    location = locate(client, scope, repo, layout)  # type: ignore[arg-type]
    before = location.path.read_text(encoding="utf-8") if location.path.exists() else ""
    current = _read_table(location, before)
    manifest = _manifest()
    owned: dict[str, str] = manifest.get(_key(location), {}).get("entries", {})
    change = Change(location, before, before)
    created = _created_by_us(location, before)
    created_dir = created == "file" and not location.path.parent.exists()
    for server in servers or list(DEFAULT_SERVERS):
        name = f"{PREFIX}{server}"
        value = entry(location, launch_for(server, transport, scope, repo))
        if name in current:
            if current[name] == value:
                change.skipped.append(f"{name}: already registered")
                owned.setdefault(name, _fingerprint(value))
                continue
            ours = name in owned and owned[name] == _fingerprint(current[name])
            if not ours and not force:
                why = "edited by hand since strata wrote it" if name in owned else "not written by strata"
                change.skipped.append(f"{name}: {why} - left as is (--force replaces it)")
                continue
        change.after = _set(location, change.after, name, value)
        owned[name] = _fingerprint(value)
        change.added.append(name)
    if change.after != before and not dry_run:
        change.backup = _write(location, before, change.after)
        change.written = True
    if not dry_run and (change.added or owned):
        record = manifest.setdefault(_key(location), {"entries": {}, "created": None})
        record["entries"] = owned
        if created and record.get("created") is None:
            record["created"] = created
            if created_dir:
                record["created_dir"] = str(location.path.parent)
        _save_manifest(manifest)
    return change


def unregister(
    client: str, servers: list[str], *, scope: str, repo: Path, dry_run: bool = False, force: bool = False,
    layout: str | None = None,
) -> Change:  # fmt: skip
    location = locate(client, scope, repo, layout)  # type: ignore[arg-type]
    before = location.path.read_text(encoding="utf-8") if location.path.exists() else ""
    manifest = _manifest()
    record = manifest.get(_key(location), {"entries": {}, "created": None})
    owned: dict[str, str] = record["entries"]
    current = _read_table(location, before)
    change = Change(location, before, before)
    names = [f"{PREFIX}{s}" for s in servers] if servers else list(owned)
    for name in names:
        if name not in owned:
            change.skipped.append(f"{name}: not registered by strata here")
            continue
        if name in current and _fingerprint(current[name]) != owned[name] and not force:
            change.skipped.append(f"{name}: edited by hand since strata wrote it - left as is (--force removes it)")
            continue
        if name in current:
            change.after = _delete(location, change.after, name)
            change.removed.append(name)
        del owned[name]
    created = record.get("created")
    remove_file = False
    if created and not owned:  # put back what registering created, once nothing of ours is left in it
        if created == "file":
            document = _document(location, change.after)
            added = CLIENT_ADDED.get(location.client, frozenset())
            if isinstance(document, dict):
                document = {k: v for k, v in document.items() if k not in added}
            remove_file = document == _skeleton(location)
            if not remove_file and isinstance(document, dict):
                others = sorted(set(document) - set(_skeleton(location)))
                change.kept.append(
                    f"{location.path}: strata created it; kept for what was added since ({', '.join(others) or 'edits'})"
                )
        elif not location.is_toml:
            empty: Any = {}
            for part in reversed(location.container[len(created) :]):
                empty = {part: empty}
            if get(change.after, list(created)) == empty:
                change.after = delete_member(change.after, list(created[:-1]), created[-1])
    if remove_file and not dry_run:
        change.backup = _write(location, before, change.after)
        location.path.unlink()
        change.after, change.written = "", True
        folder = record.get("created_dir")
        if folder:
            try:
                os.rmdir(folder)  # only when empty: what the client or the user put there stays
            except OSError:
                change.kept.append(f"{folder}: strata created it; kept for what it holds now")
    elif change.after != before and not dry_run:
        change.backup = _write(location, before, change.after)
        change.written = True
    elif remove_file:
        change.after = ""
    if not dry_run:
        if owned:
            manifest[_key(location)] = record
        else:
            manifest.pop(_key(location), None)
        _save_manifest(manifest)
    return change


def registered_entries(client: str, scope: str, repo: Path) -> tuple[Location, dict[str, Any]]:
    """The ``strata-*`` entries in ``client``'s file for ``scope`` (written by strata or not)."""
    location = locate(client, scope, repo)  # type: ignore[arg-type]
    text = location.path.read_text(encoding="utf-8") if location.path.exists() else ""
    table = _read_table(location, text)
    return location, {k: v for k, v in table.items() if k.startswith(PREFIX) and isinstance(v, dict)}


TRIMMED_PATH = "/usr/bin:/bin"  # what a GUI-started client often gives its servers


async def doctor(clients: list[str], repo: Path, *, timeout_s: float, log_dir: Path) -> list[dict[str, Any]]:
    """Start every registered ``strata-*`` entry the way its client would (argv, env, cwd, a trimmed
    PATH; or URL and headers) and do an MCP initialize + tools/list; one row per entry. An entry the client will
    not start yet (approval, folder trust: :mod:`strata.orchestrator.trust`) is not ``ok`` even when the server
    answers: its row says what to do."""
    from strata.orchestrator.clients import SCOPES
    from strata.orchestrator.discovery import probe
    from strata.orchestrator.settings import ServerSpec
    from strata.orchestrator.trust import gates

    rows: list[dict[str, Any]] = []
    seen: set[tuple[Path, tuple[str, ...]]] = set()
    for client in clients:
        for scope in SCOPES[client]:
            location, entries = registered_entries(client, scope, repo)
            if (location.path, location.container) in seen:
                continue
            seen.add((location.path, location.container))
            gated = gates(client, scope, repo, list(entries))
            for name, value in entries.items():
                row: dict[str, Any] = {"client": client, "scope": scope, "file": str(location.path), "server": name}
                launch = launch_of(client, value, dict(os.environ))
                token = None
                if launch.url:
                    spec = ServerSpec(url=launch.url)
                    auth = dict(launch.headers).get("Authorization", "")
                    token = auth.removeprefix("Bearer ").strip() or None
                    if auth and not token:
                        row |= {"health": "error", "transport": "http", "target": launch.url, "tools": 0,
                                "error": "the Authorization header expands to nothing - set STRATA_TOKEN"}  # fmt: skip
                        rows.append(row)
                        continue
                else:
                    command = launch.argv[0] if launch.argv else ""
                    if not os.path.isabs(command) or not os.access(command, os.X_OK):
                        row |= {"health": "error", "transport": "stdio", "target": command, "tools": 0,
                                "error": f"{command or 'no command'} is not an absolute path to a program - "
                                         "clients with a trimmed PATH cannot start it"}  # fmt: skip
                        rows.append(row)
                        continue
                    cwd = launch.cwd or (str(repo) if scope != "user" else os.getcwd())  # repo: resolved by the caller
                    spec = ServerSpec(command=command, args=list(launch.argv[1:]),
                                      env={"PATH": TRIMMED_PATH, **dict(launch.env)}, cwd=Path(cwd))  # fmt: skip
                report = await probe(name, spec, timeout_s=timeout_s, log_dir=log_dir, token=token)
                row |= {"health": report.health, "transport": report.transport, "target": report.target,
                        "tools": len(report.tools), "error": report.error}  # fmt: skip
                gate = gated.get(name)
                if gate is not None:  # the server answers, but the client will not start it yet
                    row["gate"] = gate.state
                    if report.health == "ok":
                        row |= {"health": gate.state.replace(" ", "_"), "error": gate.next_step}
                    else:
                        row["error"] = f"{report.error}; and {gate.next_step}"
                rows.append(row)
    return rows
