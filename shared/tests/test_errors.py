import inspect

import pytest

from strata.shared import errors
from strata.shared.errors import BusyError, ModelNotFoundError, NotFoundError, StrataError


def test_error_renders_code_and_one_line_message() -> None:
    exc = BusyError("model 'x' is busy:\n 3 queued")
    assert str(exc) == "busy: model 'x' is busy: 3 queued"
    assert exc.to_dict() == {"code": "busy", "message": "model 'x' is busy: 3 queued", "type": "BusyError"}


def test_code_can_be_overridden_per_instance() -> None:
    assert StrataError("x", code="custom").code == "custom"
    assert StrataError("x").code == "internal"


def test_model_not_found_is_caught_as_not_found() -> None:
    with pytest.raises(NotFoundError):
        raise ModelNotFoundError("missing")


def test_every_error_class_has_a_distinct_code_status_and_docstring() -> None:
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, StrataError)]
    assert len(classes) == len(errors.__all__)
    assert len({c.code for c in classes}) == len(classes)
    for cls in classes:
        assert cls.__doc__ and 100 <= cls.http_status < 600
