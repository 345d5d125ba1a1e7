"""A bot ready to run: its settings, its flows compiled, and the lookups the machine needs. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from omniroute.bots.flows.bot import BotSettings
from omniroute.bots.flows.model import Flow, SystemFlow
from omniroute.bots.runtime.program import Instruction, compile_flow
from omniroute.bots.runtime.texts import default_system_flow


@dataclass(frozen=True)
class CompiledBot:
    id: str
    version: int
    settings: BotSettings
    flows: dict[str, Flow]  # authored flows plus the built-in system flows they do not replace
    programs: dict[str, tuple[Instruction, ...]]
    by_intent: dict[str, dict[str, str]]  # intent → language → flow id

    @property
    def languages(self) -> list[str]:
        return list(self.settings.languages)

    def examples(self) -> dict[str, list[str]]:
        """Training phrases per intent, every language together (the embedder is multilingual;
        with the lexical one, each language's phrases match that language's words)."""
        found: dict[str, list[str]] = {}
        for flow in self.flows.values():
            if flow.intent is not None:
                found.setdefault(flow.intent, []).extend(flow.trigger.phrases)
        return found

    def flow_for_intent(self, intent: str, language: str) -> Flow | None:
        """The intent's flow in ``language``, else in the default language, else any."""
        by_language = self.by_intent.get(intent)
        if not by_language:
            return None
        flow_id = (
            by_language.get(language)
            or by_language.get(self.settings.default_language)
            or next(iter(by_language.values()))
        )
        return self.flows[flow_id]

    def system_flow(self, kind: SystemFlow, language: str) -> Flow:
        for candidate in (language, self.settings.default_language):
            for flow in self.flows.values():
                if flow.system is kind and flow.language == candidate and not flow.id.startswith("_"):
                    return flow
        return self.flows.get(f"_{kind.value}_{language}") or self.flows[f"_{kind.value}_en"]


def compile_bot(bot_id: str, version: int, settings: BotSettings, flows: Sequence[Flow]) -> CompiledBot:
    """``flows`` must already have passed ``loader.check_flow_set`` (unique ids, jump targets)."""
    everything = {f.id: f for f in flows}
    for kind in SystemFlow:
        for language in {*settings.languages, "en"}:
            builtin = default_system_flow(kind, language)
            everything[builtin.id] = builtin
    by_intent: dict[str, dict[str, str]] = {}
    for flow in flows:
        if flow.intent is not None:
            by_intent.setdefault(flow.intent, {}).setdefault(flow.language, flow.id)
    return CompiledBot(
        id=bot_id,
        version=version,
        settings=settings,
        flows=everything,
        programs={flow_id: compile_flow(flow) for flow_id, flow in everything.items()},
        by_intent=by_intent,
    )
