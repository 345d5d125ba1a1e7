"""The dialogue state machine: (state, customer turn) → (bot replies, new state). Pure.

Each call works on a copy of the state and returns a ``Turn``: what to say, the new state, and
either an effect to perform (an HTTP action, a knowledge lookup; call ``resume`` with its result)
or an outcome (hand off to a person, or end). Nothing here touches the network, the database or
the clock: ``today`` is passed in, understanding is behind ``Interpreter``.

One customer turn, in order:

1. a pending offer of a person ("would you like to talk to a person?") takes a yes or a no;
2. a request for a person ("agent", "persona", "humano"…) escalates;
3. the answer to the question being asked is read (slot filling);
4. escalation rules (VIP, restricted topics…) and the recent mood (sentiment) are checked;
5. a recognised intent starts its flow — in the middle of a form, as a digression: the form waits
   underneath and resumes, asking its question again, when the digression ends;
6. otherwise a question is looked up in the knowledge base (mid-form too: answered, then the
   form's question again); an unanswered turn re-prompts (mid-form) or counts as a fallback, and
   enough consecutive fallbacks escalate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from omniroute.bots.flows.entities import extract
from omniroute.bots.flows.model import (
    ChoiceEntity,
    EmailEntity,
    Flow,
    PhoneEntity,
    RegexEntity,
    Slot,
    SystemFlow,
)
from omniroute.bots.flows.templates import render, render_url, render_value
from omniroute.bots.runtime.bot import CompiledBot
from omniroute.bots.runtime.effects import (
    Effect,
    HttpCall,
    HttpResult,
    KnowledgeQuery,
    KnowledgeResult,
    Result,
)
from omniroute.bots.runtime.language import detect_language, is_question, mentions, yes_or_no
from omniroute.bots.runtime.program import (
    Branch,
    Fill,
    Finish,
    Goto,
    HandOff,
    Http,
    Instruction,
    Jump,
    Say,
    Set,
)
from omniroute.bots.runtime.state import MAX_PHRASES, DialogueState, Exit, Frame, Pending
from omniroute.bots.runtime.texts import text
from omniroute.bots.runtime.understand import IntentGuess, Interpreter
from omniroute.routing.rules import evaluate

#: Instructions one call may run: a flow that jumps in a circle hands off instead of spinning.
BUDGET = 500
#: Topics stacked by digressions; a deeper one replaces the topmost instead.
MAX_DEPTH = 5
#: Entities read from the sentence that starts a flow. Numbers and dates are left for the question:
#: a stray "2" or "today" in the first sentence is too often about something else.
PREFILLED = (ChoiceEntity, RegexEntity, EmailEntity, PhoneEntity)


# -- what a turn reports besides replies (the service turns these into events) ----------------------


@dataclass(frozen=True)
class TopicEntered:
    flow_id: str
    intent: str | None
    confidence: float
    digression: bool = False


@dataclass(frozen=True)
class FallbackCounted:
    count: int
    reason: str | None


@dataclass(frozen=True)
class KnowledgeUsed:
    article_id: str | None  # None: nothing good enough
    score: float


Note = TopicEntered | FallbackCounted | KnowledgeUsed


@dataclass(frozen=True)
class Outcome:
    kind: str  # "handoff" or "end"
    reason: str
    queue: str | None = None


@dataclass(frozen=True)
class Turn:
    state: DialogueState
    replies: tuple[str, ...] = ()
    effect: Effect | None = None
    outcome: Outcome | None = None
    notes: tuple[Note, ...] = ()


@dataclass
class _Out:
    today: date
    replies: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    effect: Effect | None = None
    budget: int = BUDGET


class Machine:
    def __init__(self, bot: CompiledBot) -> None:
        self.bot = bot

    # -- entry points ------------------------------------------------------------------------------

    def start(self, state: DialogueState, *, today: date) -> Turn:
        """Open the session: escalation rules that need no words (a VIP), else the greeting."""
        s = state.clone()
        out = _Out(today)
        s.started = True
        rule = self._rule(s, None)
        if rule is not None:
            self._escalate(s, out, f"rule:{rule}")
        else:
            s.stack = [Frame(self.bot.system_flow(SystemFlow.GREETING, s.language).id)]
            self._run(s, out)
        return self._turn(s, out)

    def receive(self, state: DialogueState, said: str, *, today: date, interpreter: Interpreter) -> Turn:
        if state.pending is not None:
            msg = "resume the pending effect before the next customer turn"
            raise ValueError(msg)
        s = state.clone()
        out = _Out(today)
        if s.finished is not None:
            return self._turn(s, out)
        s.turns += 1
        s.phrases = [*s.phrases, said][-MAX_PHRASES:]
        s.language = detect_language(said, s.language, self.bot.languages)
        s.sentiment = interpreter.sentiment(s.phrases, s.language)
        if s.exit is not None:
            # Already leaving (e.g. the escalate flow asks something first): just answer it.
            self._answer(s, out, said)
            return self._turn(s, out)

        if not self._settled_before_understanding(s, out, said):
            self._understand(s, out, said, interpreter)
        return self._turn(s, out)

    def _settled_before_understanding(self, s: DialogueState, out: _Out, said: str) -> bool:
        """Steps 1 and 2: a pending offer of a person, an explicit request for one."""
        if s.offer_pending:
            s.offer_pending = False
            answer = yes_or_no(said)
            if answer is True:
                self._escalate(s, out, "no_answer")
                return True
            if answer is False:
                out.replies.append(text(s.language, "offer_declined"))
                return True
        phrases = self.bot.settings.escalation.request_phrases.get(s.language, [])
        if mentions(said, phrases) is not None:
            self._escalate(s, out, "requested")
            return True
        return False

    def _understand(self, s: DialogueState, out: _Out, said: str, interpreter: Interpreter) -> None:
        """Steps 3 to 6: slot, rules and mood, intent (maybe a digression), knowledge, fallback."""
        frame = s.stack[-1] if s.stack else None
        waiting = frame is not None and frame.waiting
        value = self._read(s, out, frame, said) if waiting else None
        guess = interpreter.intent(said) if value is None else IntentGuess(None)
        current = self.bot.flows[frame.flow_id].intent if frame is not None and waiting else None
        new_intent = guess.intent if guess.intent is not None and guess.intent != current else None

        rule = self._rule(s, new_intent)
        if rule is not None:
            self._escalate(s, out, f"rule:{rule}")
        elif self._upset(s):
            self._escalate(s, out, "negative_sentiment")
        elif value is not None and frame is not None:
            self._fill(s, frame, value)
            s.fallbacks = 0
            self._run(s, out)
        elif new_intent is not None:
            s.fallbacks = 0
            self._start_topic(s, out, new_intent, guess.confidence, said, digression=waiting)
        elif self.bot.settings.knowledge.enabled and (not waiting or is_question(said)):
            s.pending = Pending("knowledge", purpose="slot" if waiting else "answer")
            out.effect = KnowledgeQuery(said, s.language)
        elif waiting and frame is not None:
            self._retry(s, out, frame)
        else:
            self._fallback(s, out, guess.reason)

    def resume(self, state: DialogueState, result: Result, *, today: date) -> Turn:
        """Continue after the effect the last turn asked for."""
        pending = state.pending
        if pending is None:
            msg = "nothing is pending"
            raise ValueError(msg)
        s = state.clone()
        s.pending = None
        out = _Out(today)
        match result:
            case HttpResult():
                self._after_http(s, out, pending, result)
            case KnowledgeResult():
                self._after_knowledge(s, out, pending, result)
        return self._turn(s, out)

    # -- turn pieces ----------------------------------------------------------------------------------

    def _turn(self, s: DialogueState, out: _Out) -> Turn:
        outcome = None
        if s.finished is not None and s.exit is not None:
            outcome = Outcome(s.finished, s.exit.reason, s.exit.queue)
        return Turn(s, tuple(r for r in out.replies if r.strip()), out.effect, outcome, tuple(out.notes))

    def _scope(self, s: DialogueState, frame: Frame | None, intent: str | None = None) -> dict[str, Any]:
        """What conditions and templates can read."""
        values: dict[str, Any] = dict(s.context)
        values.update(
            context=s.context,
            language=s.language,
            sentiment=s.sentiment if s.sentiment is not None else 0.0,
            turns=s.turns,
            topics=list(s.topics),
            intent=intent,
        )
        values["global"] = s.globals
        if frame is not None:
            values.update(frame.vars)
            values["topic"] = frame.vars
        return values

    def _rule(self, s: DialogueState, intent: str | None) -> str | None:
        scope = self._scope(s, s.stack[-1] if s.stack else None, intent)
        for rule in self.bot.settings.escalation.rules:
            if intent is not None and intent in rule.intents:
                return rule.name
            if rule.when is not None and evaluate(rule.when, scope):
                return rule.name
        return None

    def _upset(self, s: DialogueState) -> bool:
        settings = self.bot.settings.escalation
        return (
            settings.sentiment_threshold is not None
            and s.sentiment is not None
            and s.turns >= settings.sentiment_min_turns
            and s.sentiment <= settings.sentiment_threshold
        )

    def _slot(self, frame: Frame) -> Fill:
        instruction = self.bot.programs[frame.flow_id][frame.ip]
        assert isinstance(instruction, Fill)  # a waiting frame always points at its question
        return instruction

    def _read(self, s: DialogueState, out: _Out, frame: Frame | None, said: str) -> Any:
        if frame is None:
            return None
        return extract(self._slot(frame).slot.entity, said, language=s.language, today=out.today)

    def _assign(self, s: DialogueState, frame: Frame | None, var: str, value: Any) -> None:
        if var.startswith("global.") or frame is None:
            s.globals[var.removeprefix("global.")] = value
        else:
            frame.vars[var.removeprefix("topic.")] = value
        s.collected[var.removeprefix("global.").removeprefix("topic.")] = value

    def _value_of(self, s: DialogueState, frame: Frame, var: str) -> Any:
        if var.startswith("global."):
            return s.globals.get(var.removeprefix("global."))
        return frame.vars.get(var.removeprefix("topic."))

    def _fill(self, s: DialogueState, frame: Frame, value: Any) -> None:
        self._assign(s, frame, self._slot(frame).slot.name, value)
        frame.waiting = False
        frame.retries = 0
        frame.ip += 1

    def _answer(self, s: DialogueState, out: _Out, said: str) -> None:
        """Input while leaving: only the question being asked matters."""
        frame = s.stack[-1] if s.stack else None
        if frame is None or not frame.waiting:
            return
        value = self._read(s, out, frame, said)
        if value is None:
            self._retry(s, out, frame)
        else:
            self._fill(s, frame, value)
            self._run(s, out)

    def _start_topic(
        self,
        s: DialogueState,
        out: _Out,
        intent: str,
        confidence: float,
        said: str,
        *,
        digression: bool,
    ) -> None:
        flow = self.bot.flow_for_intent(intent, s.language)
        if flow is None:
            self._fallback(s, out, "no flow for the intent")
            return
        frame = Frame(flow.id, vars=dict(flow.variables))
        self._prefill(s, out, flow, frame, said)
        if digression and len(s.stack) < MAX_DEPTH:
            s.stack.append(frame)
        elif digression:
            s.stack[-1] = frame
        else:
            s.stack = [frame]
        self._entered(s, out, flow, confidence, digression=digression)
        self._run(s, out)

    def _entered(
        self, s: DialogueState, out: _Out, flow: Flow, confidence: float, *, digression: bool
    ) -> None:
        if flow.intent is not None:
            s.topics = [t for t in s.topics if t != flow.intent] + [flow.intent]
        out.notes.append(TopicEntered(flow.id, flow.intent, confidence, digression))

    def _prefill(self, s: DialogueState, out: _Out, flow: Flow, frame: Frame, said: str) -> None:
        for slot in flow.slots:
            if isinstance(slot.entity, PREFILLED):
                value = extract(slot.entity, said, language=s.language, today=out.today)
                if value is not None:
                    self._assign(s, frame, slot.name, value)

    def _prompt(self, s: DialogueState, out: _Out, frame: Frame, slot: Slot, *, again: bool) -> None:
        scope = self._scope(s, frame)
        texts = (
            [slot.reprompt]
            if again and slot.reprompt
            else ([slot.prompt] if isinstance(slot.prompt, str) else list(slot.prompt))
        )
        out.replies.extend(render(t, scope) for t in texts)

    def _retry(self, s: DialogueState, out: _Out, frame: Frame) -> None:
        fill = self._slot(frame)
        frame.retries += 1
        if frame.retries <= fill.slot.max_retries:
            self._prompt(s, out, frame, fill.slot, again=True)
            return
        frame.waiting = False
        frame.retries = 0
        if fill.fail_at is None:
            self._escalate(s, out, "retries_exceeded")
            return
        frame.ip = fill.fail_at
        self._run(s, out)

    def _fallback(self, s: DialogueState, out: _Out, reason: str | None) -> None:
        s.fallbacks += 1
        out.notes.append(FallbackCounted(s.fallbacks, reason))
        if s.fallbacks >= self.bot.settings.escalation.max_consecutive_fallbacks:
            self._escalate(s, out, "fallbacks")
            return
        s.stack = [Frame(self.bot.system_flow(SystemFlow.FALLBACK, s.language).id)]
        self._run(s, out)

    def _escalate(
        self, s: DialogueState, out: _Out, reason: str, queue: str | None = None, say: str | None = None
    ) -> None:
        """Say so (the step's own words, else the escalate system flow), then hand off."""
        s.exit = Exit("handoff", reason, queue)
        s.offer_pending = False
        if say is not None:
            out.replies.append(render(say, self._scope(s, s.stack[-1] if s.stack else None)))
            s.stack = []
        else:
            s.stack = [Frame(self.bot.system_flow(SystemFlow.ESCALATE, s.language).id)]
        self._run(s, out)

    def _end(self, s: DialogueState, out: _Out, say: str | None) -> None:
        s.exit = Exit("end", "resolved")
        if say is not None:
            out.replies.append(render(say, self._scope(s, s.stack[-1] if s.stack else None)))
            s.stack = []
        else:
            s.stack = [Frame(self.bot.system_flow(SystemFlow.END, s.language).id)]

    # -- effects ---------------------------------------------------------------------------------

    def _after_http(self, s: DialogueState, out: _Out, pending: Pending, result: HttpResult) -> None:
        frame = s.stack[-1]
        instruction = self.bot.programs[frame.flow_id][frame.ip]
        assert isinstance(instruction, Http)  # the frame stopped at its action
        if pending.save_as:
            self._assign(s, frame, pending.save_as, result.as_variable())
        if result.ok:
            frame.ip += 1
        elif instruction.error_at is not None:
            frame.ip = instruction.error_at
        else:
            # The failed topic cannot go on sensibly (its next step likely reads the result).
            s.stack[-1] = Frame(self.bot.system_flow(SystemFlow.ERROR, s.language).id)
        self._run(s, out)

    def _after_knowledge(
        self, s: DialogueState, out: _Out, pending: Pending, result: KnowledgeResult
    ) -> None:
        answer = result.answer
        out.notes.append(KnowledgeUsed(answer.article_id if answer else None, result.best_score))
        frame = s.stack[-1] if s.stack else None
        if answer is not None:
            s.fallbacks = 0
            out.replies.append(
                text(s.language, "knowledge_answer", title=answer.title, quote=answer.quote, url=answer.url)
            )
            if pending.purpose == "slot" and frame is not None and frame.waiting:
                self._prompt(s, out, frame, self._slot(frame).slot, again=False)
            return
        if pending.purpose == "slot" and frame is not None and frame.waiting:
            self._retry(s, out, frame)
            return
        s.fallbacks += 1
        out.notes.append(FallbackCounted(s.fallbacks, "no answer in the knowledge base"))
        if s.fallbacks >= self.bot.settings.escalation.max_consecutive_fallbacks:
            self._escalate(s, out, "fallbacks")
            return
        out.replies.append(text(s.language, "knowledge_miss"))
        s.offer_pending = True

    # -- running a flow ---------------------------------------------------------------------------

    def _run(self, s: DialogueState, out: _Out) -> None:
        """Execute instructions until the flow waits for the customer, needs an effect, or the
        stack empties (then the session is idle, or leaves if an exit was decided)."""
        while s.stack:
            out.budget -= 1
            if out.budget < 0:
                s.exit, s.stack = Exit("handoff", "flow_loop"), []
                break
            frame = s.stack[-1]
            program = self.bot.programs[frame.flow_id]
            if frame.ip < len(program):
                if self._execute(s, out, frame, program[frame.ip]):
                    return
                continue
            s.stack.pop()
            if s.stack and s.stack[-1].waiting and s.exit is None:
                below = s.stack[-1]  # a digression ended: back to the form's question
                out.replies.append(text(s.language, "resume"))
                self._prompt(s, out, below, self._slot(below).slot, again=False)
                return
        if not s.stack and s.exit is not None:
            s.finished = s.exit.kind

    def _execute(self, s: DialogueState, out: _Out, frame: Frame, instruction: Instruction) -> bool:
        """Run one instruction; True when the run must stop (waiting, an effect, escalating)."""
        scope = self._scope(s, frame)
        match instruction:
            case Say():
                out.replies.extend(render(t, scope) for t in instruction.texts)
                frame.ip += 1
            case Fill():
                if not instruction.force and self._value_of(s, frame, instruction.slot.name) not in (
                    None,
                    "",
                ):
                    frame.ip += 1
                    return False
                frame.waiting = True
                frame.retries = 0
                self._prompt(s, out, frame, instruction.slot, again=False)
                return True
            case Set():
                self._assign(s, frame, instruction.value.var, render_value(instruction.value.value, scope))
                frame.ip += 1
            case Branch():
                frame.ip = frame.ip + 1 if evaluate(instruction.condition, scope) else instruction.else_at
            case Goto():
                frame.ip = instruction.target
            case Http():
                action = instruction.action
                s.pending = Pending("http", save_as=action.save_as)
                out.effect = HttpCall(
                    method=action.method,
                    url=render_url(action.url, scope),
                    headers={k: render(v, scope) for k, v in action.headers.items()},
                    body=render_value(action.body, scope),
                    timeout_seconds=action.timeout_seconds,
                )
                return True
            case Jump():
                flow = self.bot.flows[instruction.flow_id]
                s.stack[-1] = Frame(flow.id, vars=dict(flow.variables))
                self._entered(s, out, flow, 1.0, digression=False)
            case HandOff() | Finish() if s.exit is not None:
                s.stack = []  # already leaving (the escalate or end flow itself says so): done
            case HandOff():
                handoff = instruction.handoff
                self._escalate(s, out, handoff.reason, handoff.queue, handoff.say)
                return True
            case Finish():
                self._end(s, out, instruction.end.say)
        return False
