"""The msgspec mirrors declare at least every constraint of their pydantic models.

A mirror may be stricter than its model (whatever it refuses, the model decides line by line),
never looser: a bound added to a model but not to its mirror fails here, before any data
could slip through the fast path."""

from __future__ import annotations

import types
import typing
from typing import Any

import annotated_types
import msgspec
import msgspec.inspect as mi
import pytest
from pydantic import BaseModel, StringConstraints

from core.record_rows import CostLine, ExecutionLine
from core.records import CostEntry, Execution

#: Fields whose character rule (a pattern) is checked by core.record_rows.check_names/check_hosts.
NAME_FIELDS = {"agent", "department", "model", "host"}


def _model_bounds(model: type[BaseModel], name: str) -> dict[str, Any]:
    field = model.model_fields[name]
    metadata = list(field.metadata)
    annotation = field.annotation
    for arg in typing.get_args(annotation):  # Optional[Annotated[str, ...]]
        metadata += getattr(arg, "__metadata__", ())
    out: dict[str, Any] = {}
    for m in metadata:
        if isinstance(m, annotated_types.Ge):
            out["ge"] = m.ge
        elif isinstance(m, annotated_types.Le):
            out["le"] = m.le
        elif isinstance(m, StringConstraints):
            out.update(min_length=m.min_length, max_length=m.max_length, pattern=m.pattern)
    origin = typing.get_origin(annotation)
    inner = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Literal:
        out["values"] = set(typing.get_args(annotation))
    out["optional"] = origin in (typing.Union, types.UnionType) and len(inner) == 1
    return out


def _row_type(row: type[msgspec.Struct], name: str) -> tuple[Any, bool]:
    [field] = [f for f in mi.type_info(row).fields if f.name == name]
    t = field.type
    if isinstance(t, mi.UnionType):
        inner = [x for x in t.types if not isinstance(x, mi.NoneType)]
        return inner[0], True
    return t, False


@pytest.mark.parametrize(("model", "row"), [(Execution, ExecutionLine), (CostEntry, CostLine)])
def test_every_model_constraint_is_declared_by_the_mirror(
    model: type[BaseModel], row: type[msgspec.Struct]
) -> None:
    for name in model.model_fields:
        want = _model_bounds(model, name)
        t, optional = _row_type(row, name)
        assert optional == want["optional"], name
        if "values" in want:
            assert isinstance(t, mi.LiteralType) and set(t.values) <= want["values"], name
            continue
        if "ge" in want:
            assert t.ge is not None and t.ge >= want["ge"], name
        if "le" in want:
            assert t.le is not None and t.le <= want["le"], name
        if want.get("min_length") is not None:
            assert t.min_length is not None and t.min_length >= want["min_length"], name
        if want.get("max_length") is not None:
            assert t.max_length is not None and t.max_length <= want["max_length"], name
        if want.get("pattern") is not None:
            assert name in NAME_FIELDS, f"{name}: a pattern the mirror does not check"
