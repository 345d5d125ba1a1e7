"""A flow compiled to a flat list of instructions, so "where the flow is" is one integer that
survives being stored between turns (nested steps become jumps over their bodies). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from omniroute.bots.flows.model import (
    AskStep,
    ConditionStep,
    End,
    EndStep,
    Flow,
    Handoff,
    HandoffStep,
    HttpAction,
    HttpStep,
    JumpStep,
    SayStep,
    SetStep,
    SetValue,
    Slot,
    Step,
)
from omniroute.routing.rules import Condition


@dataclass(frozen=True)
class Say:
    texts: tuple[str, ...]


@dataclass(frozen=True)
class Fill:
    """Ask for ``slot`` and wait. On an answer: the next instruction (a ``Goto`` over the failure
    body). After the last retry: ``fail_at``, or a hand-off when the slot has no ``on_fail``."""

    slot: Slot
    force: bool  # an ask step asks even when the variable has a value; a slot does not
    fail_at: int | None


@dataclass(frozen=True)
class Set:
    value: SetValue


@dataclass(frozen=True)
class Branch:
    condition: Condition
    else_at: int


@dataclass(frozen=True)
class Goto:
    target: int


@dataclass(frozen=True)
class Http:
    """Success continues at the next instruction (a ``Goto`` over the error body); failure at
    ``error_at``, or the error system flow when the action has no ``on_error``."""

    action: HttpAction
    error_at: int | None


@dataclass(frozen=True)
class Jump:
    flow_id: str


@dataclass(frozen=True)
class HandOff:
    handoff: Handoff


@dataclass(frozen=True)
class Finish:
    end: End


Instruction = Say | Fill | Set | Branch | Goto | Http | Jump | HandOff | Finish


def _says(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


class _Compiler:
    def __init__(self) -> None:
        self.code: list[Instruction] = []

    def emit(self, instruction: Instruction) -> int:
        self.code.append(instruction)
        return len(self.code) - 1

    def patch(self, index: int, instruction: Instruction) -> None:
        self.code[index] = instruction

    def guarded(self, head: Instruction, body: list[Step] | None) -> None:
        """``head`` then, if it has a failure body, ``Goto after``, the body, and ``after``."""
        at = self.emit(head)
        if not body:
            return
        skip = self.emit(Goto(-1))
        start = len(self.code)
        self.steps(body)
        self.patch(skip, Goto(len(self.code)))
        if isinstance(head, Fill):
            self.patch(at, Fill(head.slot, head.force, start))
        elif isinstance(head, Http):
            self.patch(at, Http(head.action, start))

    def slot(self, slot: Slot, force: bool) -> None:
        self.guarded(Fill(slot, force, None), slot.on_fail)

    def steps(self, steps: list[Step]) -> None:
        for step in steps:
            match step:
                case SayStep():
                    self.emit(Say(_says(step.say)))
                case AskStep():
                    self.slot(step.ask, force=True)
                case SetStep():
                    self.emit(Set(step.set))
                case ConditionStep():
                    branch = self.emit(Branch(step.condition.if_, -1))
                    self.steps(step.condition.then)
                    if step.condition.else_:
                        skip = self.emit(Goto(-1))
                        self.patch(branch, Branch(step.condition.if_, len(self.code)))
                        self.steps(step.condition.else_)
                        self.patch(skip, Goto(len(self.code)))
                    else:
                        self.patch(branch, Branch(step.condition.if_, len(self.code)))
                case HttpStep():
                    self.guarded(Http(step.http, None), step.http.on_error)
                case JumpStep():
                    self.emit(Jump(step.jump))
                case HandoffStep():
                    self.emit(HandOff(step.handoff))
                case EndStep():
                    self.emit(Finish(step.end))


def compile_flow(flow: Flow) -> tuple[Instruction, ...]:
    """Slots first (each asked only while empty), then the steps; falling off the end returns."""
    compiler = _Compiler()
    for slot in flow.slots:
        compiler.slot(slot, force=False)
    compiler.steps(flow.steps)
    return tuple(compiler.code)
