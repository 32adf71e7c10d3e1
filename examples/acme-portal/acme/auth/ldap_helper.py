"""Legacy LDAP authentication against ldap.acme.internal (to be retired in favour of acme.auth.sso)."""

from __future__ import annotations

from acme import directory
from acme.models import User

LDAP_SERVER = "ldap://ldap.acme.internal:389"
BASE_DN = "ou=staff,dc=acme,dc=internal"


class LdapConnection:
    """A bound connection to the legacy LDAP server."""

    def __init__(self, server: str = LDAP_SERVER) -> None:
        self.server = server
        self.bound_dn: str | None = None

    def bind(self, dn: str, password: str) -> bool:
        """Simple bind as ``dn``; True when the directory accepts the password."""
        username = dn.split(",", 1)[0].removeprefix("uid=")
        if directory.check_password(username, password):
            self.bound_dn = dn
            return True
        return False


def user_dn(username: str) -> str:
    return f"uid={username},{BASE_DN}"


def ldap_authenticate(username: str, password: str) -> User | None:
    """Bind as the user on the legacy LDAP server; the User on success, None otherwise."""
    connection = LdapConnection()
    if not connection.bind(user_dn(username), password):
        return None
    found = directory.lookup(username)
    if found is None:
        return None
    display_name, groups = found
    return User(username, display_name, groups, auth_source="ldap")
