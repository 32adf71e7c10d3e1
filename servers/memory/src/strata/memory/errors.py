"""Errors of the memory server.

StrataError (strata.shared.errors)
├── InvalidRequestError
│   └── CardinalityError         a predicate is used as single- and multi-valued
├── NotFoundError
│   └── UnknownIdError           no memory, fact or entity has that id or name
├── ConfigError
│   └── EmbedderMismatchError    the store was built with another embedder
└── StoreUnavailableError        another process owns the store and cannot be reached
"""

from __future__ import annotations

from strata.shared.errors import ConfigError, InvalidRequestError, NotFoundError, StrataError

__all__ = ["CardinalityError", "EmbedderMismatchError", "StoreUnavailableError", "UnknownIdError"]


class CardinalityError(InvalidRequestError):
    """A predicate declared single-valued is set as multi-valued (or the other way round)."""

    code = "cardinality_conflict"


class UnknownIdError(NotFoundError):
    """No memory, fact or entity has the id or name given."""

    code = "unknown_id"


class EmbedderMismatchError(ConfigError):
    """The store's vectors came from another embedder (name or dimension) than the one configured."""

    code = "embedder_mismatch"


class StoreUnavailableError(StrataError):
    """Another process owns the store and did not answer; the message says which process."""

    code = "store_unavailable"
    http_status = 503
