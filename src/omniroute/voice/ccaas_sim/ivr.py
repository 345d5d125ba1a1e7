"""The simulator's IVR: a DTMF menu that picks a queue, then collects an account number.

Pure: keys in, state out. Every prompt and every key the caller pressed is kept as a transcript
turn, so Omniroute receives what the IVR said and heard, as a real CCaaS would send it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from omniroute.core.errors import InvalidInput

KEYS = frozenset("0123456789*#")


class IvrStep(StrEnum):
    MENU = "menu"  # waiting for a menu choice
    ACCOUNT = "account"  # collecting the account number, ended by #
    DONE = "done"  # the caller goes to the queue


@dataclass(frozen=True)
class MenuOption:
    key: str
    label: str  # what the IVR says and reports as ivr_data["menu"]
    queue: str


@dataclass(frozen=True)
class IvrScript:
    greeting: str = "Thank you for calling Omniroute Demo."
    options: tuple[MenuOption, ...] = (
        MenuOption("1", "billing", "Billing"),
        MenuOption("2", "technical support", "Support"),
    )
    account_prompt: str = "Please enter your account number, then press the hash key."
    account_min_digits: int = 4
    account_max_digits: int = 12
    attempts: int = 3  # wrong entries before the IVR gives up and queues the caller anyway
    fallback_queue: str = "General"

    @property
    def queues(self) -> tuple[str, ...]:
        names = [o.queue for o in self.options]
        return tuple(dict.fromkeys([*names, self.fallback_queue]))

    def menu_prompt(self) -> str:
        choices = " ".join(f"For {o.label}, press {o.key}." for o in self.options)
        return f"{choices} To hear these options again, press star."


@dataclass(frozen=True)
class Turn:
    speaker: str  # "bot" (the IVR) or "customer"
    text: str


@dataclass
class IvrSession:
    script: IvrScript
    step: IvrStep = IvrStep.MENU
    queue: str | None = None
    data: dict[str, str] = field(default_factory=dict)
    buffer: str = ""
    failures: int = 0
    turns: list[Turn] = field(default_factory=list)

    @classmethod
    def start(cls, script: IvrScript) -> IvrSession:
        session = cls(script)
        session._say(script.greeting)
        session._say(script.menu_prompt())
        return session

    @property
    def done(self) -> bool:
        return self.step is IvrStep.DONE

    def press(self, keys: str) -> None:
        """Apply the caller's keys in order; keys after the IVR has finished are ignored, as a
        real IVR stops listening once it transfers the call."""
        bad = sorted(set(keys) - KEYS)
        if bad:
            msg = f"DTMF keys are 0-9, * and #; not {''.join(bad)!r}"
            raise InvalidInput(msg)
        for key in keys:
            if self.done:
                return
            if self.step is IvrStep.MENU:
                self._menu(key)
            else:
                self._account(key)

    def _menu(self, key: str) -> None:
        self._hear(key)
        if key == "*":
            self._say(self.script.menu_prompt())
            return
        option = next((o for o in self.script.options if o.key == key), None)
        if option is None:
            self._failed("Sorry, that is not an option.", self.script.menu_prompt())
            return
        self.queue = option.queue
        self.data["menu"] = option.label
        self.step, self.failures = IvrStep.ACCOUNT, 0
        self._say(self.script.account_prompt)

    def _account(self, key: str) -> None:
        if key == "*":
            self._hear(self.buffer + "*")
            self.buffer = ""
            self._say(self.script.account_prompt)
            return
        if key != "#":
            self.buffer += key
            if len(self.buffer) <= self.script.account_max_digits:
                return
        entered, self.buffer = self.buffer, ""
        self._hear(entered + key if key == "#" else entered)
        if key == "#" and self.script.account_min_digits <= len(entered):
            self.data["account_number"] = entered
            self._finish()
            return
        self._failed("Sorry, that account number is not valid.", self.script.account_prompt)

    def _failed(self, apology: str, prompt: str) -> None:
        self.failures += 1
        if self.failures >= self.script.attempts:
            self.data.setdefault("menu", "none")
            self.data["ivr_result"] = "gave_up"
            self.queue = self.queue or self.script.fallback_queue
            self._say(f"{apology} Let me put you through to an agent.")
            self.step = IvrStep.DONE
            return
        self._say(f"{apology} {prompt}")

    def _finish(self) -> None:
        self.data["ivr_result"] = "completed"
        self._say("Thank you. Please hold for the next available agent.")
        self.step = IvrStep.DONE

    def _say(self, text: str) -> None:
        self.turns.append(Turn("bot", text))

    def _hear(self, keys: str) -> None:
        self.turns.append(Turn("customer", f"(pressed {keys})"))
