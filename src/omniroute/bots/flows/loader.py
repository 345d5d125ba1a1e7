"""Flow YAML in, a validated ``Flow`` (or every problem with its line) out. Pure: no file access.

YAML is composed to nodes first, so each problem can point at the line an author must fix:
syntax errors carry the parser's mark, schema errors are pydantic's, located by walking the error
path through the nodes, and cross-flow errors (a jump to a flow that does not exist) point at the
step. Anchors/aliases and duplicate keys are refused: both make a document mean something other
than what it appears to say.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from omniroute.bots.flows.model import (
    Flow,
    JumpStep,
    Step,
    SystemFlow,
)
from omniroute.core.errors import InvalidInput

MAX_SOURCE = 200_000  # characters; a flow is a page or two of YAML


@dataclass(frozen=True)
class Problem:
    message: str
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    path: str = ""
    flow_id: str | None = None

    def describe(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        at = f"{self.path}: " if self.path else ""
        flow = f"flow {self.flow_id!r}, " if self.flow_id else ""
        return f"{flow}{where}{at}{self.message}"


class FlowError(InvalidInput):
    """The document(s) did not validate; ``problems`` says where and why (422)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.describe() for p in self.problems[:10]))


@dataclass(frozen=True)
class ParsedFlow:
    flow: Flow
    source: str
    root: yaml.Node

    def line_of(self, path: Sequence[str | int]) -> tuple[int | None, int | None]:
        return locate(self.root, path)


def _compose(source: str) -> yaml.Node:
    if len(source) > MAX_SOURCE:
        raise FlowError([Problem(f"the document is larger than {MAX_SOURCE} characters")])
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = str(exc.problem or exc.context or "invalid YAML")
        raise FlowError(
            [Problem(problem, mark.line + 1 if mark else None, mark.column + 1 if mark else None)]
        ) from exc
    except yaml.YAMLError as exc:
        raise FlowError([Problem(f"invalid YAML: {exc}")]) from exc
    if root is None:
        raise FlowError([Problem("the document is empty")])
    problems: list[Problem] = []
    _check_nodes(root, set(), problems)
    if problems:
        raise FlowError(problems)
    return root


def _check_nodes(node: yaml.Node, seen: set[int], problems: list[Problem]) -> None:
    if id(node) in seen:
        mark = node.start_mark
        problems.append(
            Problem("anchors and aliases are not supported; repeat the text", mark.line + 1, mark.column + 1)
        )
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in keys:
                    mark = key.start_mark
                    message = f"duplicate key {key.value!r} (first on line {keys[key.value]})"
                    problems.append(Problem(message, mark.line + 1, mark.column + 1))
                keys.setdefault(key.value, key.start_mark.line + 1)
            _check_nodes(value, seen, problems)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_nodes(item, seen, problems)


def locate(root: yaml.Node, path: Sequence[str | int]) -> tuple[int | None, int | None]:
    """The (line, column) of the deepest node ``path`` reaches; path parts that are not in the
    document (pydantic's union tags, a missing field) are skipped."""
    node = root
    for part in path:
        found: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    found = value
                    break
            if found is None and str(part) in ("if", "else", "if_", "else_"):
                alias = str(part).rstrip("_")
                found = next(
                    (v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == alias), None
                )
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            found = node.value[part]
        if found is not None:
            node = found
    return node.start_mark.line + 1, node.start_mark.column + 1


def parse_flow(source: str) -> ParsedFlow:
    """One flow document, validated on its own (cross-flow checks: ``check_flow_set``)."""
    root = _compose(source)
    data: Any = yaml.safe_load(source)
    if not isinstance(data, dict):
        line, column = locate(root, [])
        raise FlowError([Problem("a flow is a mapping (id, language, trigger, slots, steps)", line, column)])
    try:
        flow = Flow.model_validate(data)
    except ValidationError as exc:
        flow_id = data.get("id") if isinstance(data.get("id"), str) else None
        raise FlowError(validation_problems(exc, data, root, flow_id)) from exc
    return ParsedFlow(flow, source, root)


#: Which member of a condition union the author meant, by the key they wrote.
_CONDITION_MEMBERS = {"field": "Leaf", "all": "AllOf", "any": "AnyOf", "not": "NotOf", "always": "Always"}


def _document_path(data: Any, loc: Sequence[str | int]) -> tuple[list[str | int], dict[int, str]]:
    """``loc`` without pydantic's union tags (the parts that are not in the document), and for
    each dropped part the keys of the mapping it was dropped at (to tell union members apart)."""
    clean: list[str | int] = []
    dropped: dict[int, str] = {}
    node = data
    for index, part in enumerate(loc):
        if isinstance(node, dict) and str(part) in node:
            clean.append(part)
            node = node[str(part)]
        elif isinstance(node, dict) and str(part).rstrip("_") in node:
            clean.append(str(part).rstrip("_"))
            node = node[str(part).rstrip("_")]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            clean.append(part)
            node = node[part]
        elif isinstance(node, dict):
            meant = next((m for k, m in _CONDITION_MEMBERS.items() if k in node), "Leaf")
            dropped[index] = meant
        else:
            clean.append(part)  # a missing field or an item past the end: still worth naming
    return clean, dropped


def _member(part: str | int) -> str | None:
    text = str(part)
    for name in ("AllOf", "AnyOf", "NotOf", "Always", "Leaf"):
        if text == name or text.endswith(f", {name}]"):
            return name
    return None


def validation_problems(
    exc: ValidationError, data: Any, root: yaml.Node | None, flow_id: str | None = None
) -> list[Problem]:
    """Pydantic's errors as problems with lines; for conditions (a union), only the errors of the
    form the author wrote (``field``/``all``/``any``/``not``), not every alternative's."""
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for error in exc.errors():
        loc = list(error.get("loc", ()))
        clean, dropped = _document_path(data, loc)
        if any(_member(loc[i]) not in (None, meant) for i, meant in dropped.items()):
            continue
        line, column = locate(root, loc) if root is not None else (None, None)
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        key = (_path(clean), message)
        if key in seen:
            continue
        seen.add(key)
        problems.append(Problem(message, line, column, key[0], flow_id))
    return problems


def _path(loc: Iterable[str | int]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + part)
    return "".join(parts)


def _step_paths(steps: list[Step], prefix: list[str | int]) -> list[tuple[Step, list[str | int]]]:
    """Each step with its path in the document, for pointing at it."""
    found: list[tuple[Step, list[str | int]]] = []
    for index, step in enumerate(steps):
        here = [*prefix, index]
        found.append((step, here))
        kind = next(iter(type(step).model_fields))
        inner = getattr(step, kind)
        for field, name in (
            ("then", "then"),
            ("else_", "else"),
            ("on_error", "on_error"),
            ("on_fail", "on_fail"),
        ):
            nested = getattr(inner, field, None)
            if isinstance(nested, list):
                found += _step_paths(nested, [*here, kind, name])
    return found


def check_flow_set(parsed: Sequence[ParsedFlow], *, languages: Sequence[str]) -> list[Problem]:
    """What only the whole set can tell: unique ids, jump targets, one system flow of each kind
    per language, flows in languages the bot speaks."""
    problems: list[Problem] = []
    ids: dict[str, ParsedFlow] = {}
    systems: dict[tuple[SystemFlow, str], str] = {}
    for item in parsed:
        flow = item.flow
        if flow.id in ids:
            line, column = item.line_of(["id"])
            problems.append(Problem("another flow already has this id", line, column, "id", flow.id))
        ids[flow.id] = item
        if flow.language not in languages:
            line, column = item.line_of(["language"])
            msg = f"the bot does not speak {flow.language!r} (languages: {', '.join(languages)})"
            problems.append(Problem(msg, line, column, "language", flow.id))
        if flow.system is not None:
            key = (flow.system, flow.language)
            if key in systems:
                line, column = item.line_of(["system"])
                msg = f"{systems[key]!r} is already the {flow.system.value} flow in {flow.language!r}"
                problems.append(Problem(msg, line, column, "system", flow.id))
            systems.setdefault(key, flow.id)
    for item in parsed:
        paths = _step_paths(item.flow.steps, ["steps"])
        for index, slot in enumerate(item.flow.slots):
            paths += _step_paths(slot.on_fail or [], ["slots", index, "on_fail"])
        for step, path in paths:
            if isinstance(step, JumpStep) and step.jump not in ids:
                line, column = item.line_of([*path, "jump"])
                problems.append(
                    Problem(f"jump to unknown flow {step.jump!r}", line, column, _path(path), item.flow.id)
                )
    return problems
