"""POST /api/tokens: API tokens for scripts, issued after a password check."""

from __future__ import annotations

import secrets
import time

from acme.auth import ldap_helper

TOKEN_TTL_S = 3600
_issued: dict[str, tuple[str, float]] = {}


def issue_token(username: str, password: str) -> str:
    """A new API token for ``username``; PermissionError on bad credentials."""
    user = ldap_helper.ldap_authenticate(username, password)
    if user is None:
        raise PermissionError("invalid credentials")
    token = secrets.token_urlsafe(24)
    _issued[token] = (user.username, time.time() + TOKEN_TTL_S)
    return token


def token_owner(token: str) -> str | None:
    entry = _issued.get(token)
    if entry is None or entry[1] < time.time():
        return None
    return entry[0]
