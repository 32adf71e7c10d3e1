"""Login and account pages."""

from __future__ import annotations

from acme.auth.ldap_helper import ldap_authenticate
from acme.web.session import Session, start_session


def login(form: dict[str, str]) -> Session | None:
    """POST /login: a session for valid credentials."""
    user = ldap_authenticate(form.get("username", ""), form.get("password", ""))
    if user is None:
        return None
    return start_session(user)


def confirm_password(session: Session, password: str) -> bool:
    """Re-check the password before a sensitive change."""
    return ldap_authenticate(session.user.username, password) is not None
