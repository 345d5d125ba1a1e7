"""What the runtime says on its own, in English and Spanish, and the built-in system flows a bot
gets for any system flow it does not define. Pure data."""

from __future__ import annotations

from typing import Any

from omniroute.bots.flows.model import Flow, SystemFlow

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "knowledge_answer": "Here is what our help article “{title}” says:\n\n{quote}\n\nRead it all: {url}",
        "knowledge_miss": "I couldn't find an answer to that in our help articles. "
        "Would you like to talk to a person?",
        "offer_declined": "All right. What else can I help you with?",
        "resume": "Now, back to where we were.",
        "idle_end": "I'm closing this chat because it has been quiet for a while. Write again any time.",
        "unavailable": "Sorry, the assistant is not available right now. I'm passing you to a person.",
        "taken_over": "A person from our team is taking over this chat. They can see our conversation.",
    },
    "es": {
        "knowledge_answer": "Esto dice nuestro artículo de ayuda «{title}»:\n\n{quote}\n\n"
        "Léelo completo: {url}",
        "knowledge_miss": "No he encontrado la respuesta en nuestros artículos de ayuda. "
        "¿Quieres hablar con una persona?",
        "offer_declined": "De acuerdo. ¿En qué más puedo ayudarte?",
        "resume": "Volvamos a lo que estábamos haciendo.",
        "idle_end": "Cierro este chat porque lleva un rato sin actividad. Escríbenos cuando quieras.",
        "unavailable": "Lo siento, el asistente no está disponible ahora mismo. Te paso con una persona.",
        "taken_over": "Una persona de nuestro equipo se encarga ahora de este chat. "
        "Puede ver nuestra conversación.",
    },
}

_SYSTEM: dict[SystemFlow, dict[str, list[dict[str, Any]]]] = {
    SystemFlow.GREETING: {
        "en": [{"say": "Hi! I'm the virtual assistant. How can I help you today? "
                       "You can ask for a person at any time."}],
        "es": [{"say": "¡Hola! Soy el asistente virtual. ¿En qué puedo ayudarte? "
                       "Puedes pedir hablar con una persona cuando quieras."}],
    },
    SystemFlow.FALLBACK: {
        "en": [{"say": "Sorry, I didn't understand that. Could you say it another way?"}],
        "es": [{"say": "Perdona, no te he entendido. ¿Puedes decirlo de otra forma?"}],
    },
    SystemFlow.ESCALATE: {
        "en": [{"say": "I'm passing you to a person now. They will see our conversation, "
                       "so you won't need to repeat yourself."}],
        "es": [{"say": "Te paso con una persona. Verá nuestra conversación, "
                       "así que no tendrás que repetir nada."}],
    },
    SystemFlow.END: {
        "en": [{"say": "Thanks for chatting with us. Goodbye!"}],
        "es": [{"say": "Gracias por escribirnos. ¡Hasta pronto!"}],
    },
    SystemFlow.ERROR: {
        "en": [{"say": "Sorry, something went wrong on my side."}, {"handoff": "action_failed"}],
        "es": [{"say": "Lo siento, algo ha fallado por mi parte."}, {"handoff": "action_failed"}],
    },
}  # fmt: skip


def text(language: str, key: str, **values: str) -> str:
    table = TEXTS.get(language) or TEXTS["en"]
    return table[key].format(**values) if values else table[key]


def default_system_flow(kind: SystemFlow, language: str) -> Flow:
    steps = _SYSTEM[kind].get(language) or _SYSTEM[kind]["en"]
    flow = Flow.model_validate({"id": "builtin", "language": language, "system": kind.value, "steps": steps})
    # An id no authored flow can have (ids start with a letter or digit), so they never collide.
    return flow.model_copy(update={"id": f"_{kind.value}_{language}"})
