"""The orchestrator's errors, on the tree every Strata part shares (``strata.shared.errors``): each has a stable
``code``, a one-line ``message``, and the CLI prints it as one line (``report_errors``).

    StrataError
    └── InvalidRequestError
        ├── CodemodError        an edit that cannot be made safely: the file does not parse, a name is taken
        ├── JsonEditError       a JSON/JSONC document that cannot be read or edited as asked
        └── RegistrationError   a registration that cannot be written: an unknown server, a client file that is
                                not JSON
"""

from __future__ import annotations

from strata.shared.errors import InvalidRequestError

__all__ = ["CodemodError", "JsonEditError", "RegistrationError"]


class CodemodError(InvalidRequestError):
    """The edit would not be safe (or the file cannot be parsed); nothing was changed."""

    code = "codemod_refused"


class JsonEditError(InvalidRequestError):
    """A JSON/JSONC document is not valid, or the member to edit is not where an object should be."""

    code = "json_edit_failed"


class RegistrationError(InvalidRequestError):
    """A server cannot be registered in (or removed from) a client's config as asked."""

    code = "registration_failed"
