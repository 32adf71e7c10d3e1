"""acme-admin: grant and revoke groups (admins only)."""

from __future__ import annotations

import argparse

from acme import directory
from acme.auth.ldap_helper import ldap_authenticate as check_credentials


def grant(admin: str, password: str, username: str, group: str) -> None:
    """Add ``username`` to ``group``; the caller must be an admin."""
    caller = check_credentials(admin, password)
    if caller is None or not caller.is_admin:
        raise PermissionError(f"{admin} may not grant groups")
    name, groups, digest = directory.STAFF[username]
    directory.STAFF[username] = (name, groups | {group}, digest)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="acme-admin")
    parser.add_argument("admin")
    parser.add_argument("password")
    parser.add_argument("username")
    parser.add_argument("group")
    args = parser.parse_args(argv)
    grant(args.admin, args.password, args.username, args.group)
