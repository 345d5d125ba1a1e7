"""Conditions over a work item's attributes, as used by classification and route-to-queue rules.

A condition is data (so admins can author it in the API or the admin pages and it can be stored
and versioned): a leaf ``{"field": "prechat.language", "op": "eq", "value": "es"}`` or a group
``{"all": [...]}`` / ``{"any": [...]}`` / ``{"not": {...}}``. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

MISSING = object()


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"  # substring for text, membership for lists
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"
    EXISTS = "exists"
    MATCHES = "matches"  # regular expression, case-insensitive


class Leaf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")
    op: Op = Op.EQ
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> Leaf:
        if self.op in (Op.IN, Op.NOT_IN) and not isinstance(self.value, list):
            msg = f"'{self.op.value}' needs a list value"
            raise ValueError(msg)
        if self.op is Op.MATCHES:
            if not isinstance(self.value, str):
                raise ValueError("'matches' needs a regular expression")
            try:
                re.compile(self.value)
            except re.error as exc:
                msg = f"invalid regular expression: {exc}"
                raise ValueError(msg) from exc
        return self


class AllOf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    all: list[Condition] = Field(min_length=1)


class AnyOf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    any: list[Condition] = Field(min_length=1)


class NotOf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    not_: Condition = Field(alias="not")


class Always(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    always: Literal[True] = True


Condition = Annotated[Union[Leaf, AllOf, AnyOf, NotOf, Always], Field(union_mode="left_to_right")]  # noqa: UP007 - recursive alias needs Union at runtime

AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()


def lookup(attributes: Mapping[str, Any], path: str) -> Any:
    """``prechat.language`` → attributes["prechat"]["language"]; MISSING when absent."""
    current: Any = attributes
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            return MISSING
    return current


def _compare(op: Op, actual: Any, expected: Any) -> bool:
    if op is Op.EXISTS:
        present = actual is not MISSING and actual not in (None, "")
        return present if expected in (None, True) else not present
    if actual is MISSING:
        return op in (Op.NE, Op.NOT_IN)
    if isinstance(actual, str) and isinstance(expected, str) and op in (Op.EQ, Op.NE):
        same = actual.casefold() == expected.casefold()
        return same if op is Op.EQ else not same
    result: bool
    match op:
        case Op.EQ:
            result = bool(actual == expected)
        case Op.NE:
            result = bool(actual != expected)
        case Op.IN:
            result = _folded(actual) in [_folded(v) for v in expected]
        case Op.NOT_IN:
            result = _folded(actual) not in [_folded(v) for v in expected]
        case Op.CONTAINS:
            if isinstance(actual, str):
                result = str(expected).casefold() in actual.casefold()
            else:
                result = isinstance(actual, list | tuple | set) and expected in actual
        case Op.MATCHES:
            result = isinstance(actual, str) and re.search(expected, actual, re.IGNORECASE) is not None
        case _:
            result = _ordered(op, actual, expected)
    return result


def _folded(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _ordered(op: Op, actual: Any, expected: Any) -> bool:
    try:
        if op is Op.GT:
            return bool(actual > expected)
        if op is Op.GE:
            return bool(actual >= expected)
        if op is Op.LT:
            return bool(actual < expected)
        return bool(actual <= expected)
    except TypeError:
        return False  # comparing text with a number: the rule does not match, it does not crash


def evaluate(condition: Condition, attributes: Mapping[str, Any]) -> bool:
    match condition:
        case Always():
            return True
        case Leaf():
            return _compare(condition.op, lookup(attributes, condition.field), condition.value)
        case AllOf():
            return all(evaluate(c, attributes) for c in condition.all)
        case AnyOf():
            return any(evaluate(c, attributes) for c in condition.any)
        case NotOf():
            return not evaluate(condition.not_, attributes)
    msg = f"unknown condition {condition!r}"
    raise TypeError(msg)


def time_attributes(now: datetime) -> dict[str, Any]:
    """What rules may say about time (in UTC; queues' operating hours handle local time)."""
    return {"hour": now.hour, "weekday": now.strftime("%a").lower(), "date": now.date().isoformat()}
