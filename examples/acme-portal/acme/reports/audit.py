"""Monthly access audit: who is in which group."""

from __future__ import annotations

from acme import directory


def group_members(group: str) -> list[str]:
    return sorted(name for name, (_, groups, _) in directory.STAFF.items() if group in groups)


def audit_report() -> str:
    lines = [f"{group}: {', '.join(group_members(group))}" for group in ("admins", "finance", "staff")]
    return "\n".join(lines)
