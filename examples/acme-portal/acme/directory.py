"""The staff directory both identity back ends read (in memory, so the sample runs offline)."""

from __future__ import annotations

import hashlib
import hmac

_SALT = b"acme-portal"


def _digest(password: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), _SALT, 1000).hex()


# username -> (display name, groups, password digest)
STAFF: dict[str, tuple[str, frozenset[str], str]] = {
    "alice": ("Alice Martin", frozenset({"staff", "admins"}), _digest("wonderland")),
    "bob": ("Bob Okafor", frozenset({"staff"}), _digest("builder")),
    "carol": ("Carol Wu", frozenset({"staff", "finance"}), _digest("singing")),
}


def check_password(username: str, password: str) -> bool:
    """True when ``username`` exists and ``password`` is theirs (constant-time compare)."""
    entry = STAFF.get(username)
    return entry is not None and hmac.compare_digest(entry[2], _digest(password))


def lookup(username: str) -> tuple[str, frozenset[str]] | None:
    """Display name and groups of ``username``, or None."""
    entry = STAFF.get(username)
    return None if entry is None else (entry[0], entry[1])
