"""Shared data types."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class User:
    """A signed-in member of staff."""

    username: str
    display_name: str
    groups: frozenset[str] = field(default_factory=frozenset)
    auth_source: str = "ldap"

    @property
    def is_admin(self) -> bool:
        return "admins" in self.groups
