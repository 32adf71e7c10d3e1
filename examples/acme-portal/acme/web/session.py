"""Browser sessions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from acme.models import User


@dataclass
class Session:
    user: User
    token: str = field(default_factory=lambda: secrets.token_hex(16))


def start_session(user: User) -> Session:
    return Session(user)
