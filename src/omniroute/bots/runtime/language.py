"""Small word-level judgements the runtime makes without a model: which language a message is in,
yes or no, is it a question, does it ask for a person. English and Spanish. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from omniroute.bots.understanding.lexical import words

_EN = frozenset(
    [
        "the",
        "is",
        "are",
        "was",
        "what",
        "how",
        "when",
        "where",
        "why",
        "can",
        "could",
        "would",
        "my",
        "your",
        "you",
        "i",
        "me",
        "it",
        "this",
        "that",
        "do",
        "does",
        "have",
        "has",
        "please",
        "thanks",
        "thank",
        "hello",
        "hi",
        "want",
        "need",
        "to",
        "of",
        "and",
        "with",
        "for",
    ]
)
_ES = frozenset(
    [
        "el",
        "la",
        "los",
        "las",
        "es",
        "son",
        "esta",
        "estoy",
        "que",
        "como",
        "cuando",
        "donde",
        "por",
        "porque",
        "puedo",
        "puede",
        "mi",
        "mis",
        "tu",
        "usted",
        "yo",
        "me",
        "quiero",
        "necesito",
        "hola",
        "gracias",
        "de",
        "del",
        "y",
        "con",
        "para",
        "una",
        "un",
        "tengo",
        "tiene",
        "buenas",
        "buenos",
        "dias",
    ]
)
_ES_MARKS = frozenset("¿¡ñáéíóúü")

YES = frozenset(
    [
        "yes",
        "yeah",
        "yep",
        "yup",
        "sure",
        "ok",
        "okay",
        "please",
        "correct",
        "right",
        "si",
        "claro",
        "vale",
        "venga",
        "dale",
        "porfa",
        "favor",
        "correcto",
        "acuerdo",
        "perfecto",
    ]
)
NO = frozenset(["no", "nope", "nah", "not", "never", "nunca", "tampoco"])

_QUESTION_WORDS = frozenset(
    [
        "what",
        "how",
        "when",
        "where",
        "why",
        "which",
        "who",
        "can",
        "could",
        "do",
        "does",
        "is",
        "are",
        "will",
        "would",
        "should",
        "que",
        "como",
        "cuando",
        "donde",
        "cual",
        "cuales",
        "quien",
        "cuanto",
        "cuanta",
        "cuantos",
        "puedo",
        "puede",
        "hay",
    ]
)


def detect_language(text: str, current: str, supported: Sequence[str]) -> str:
    """``current`` unless the message is clearly in another supported language: a short "ok"
    must not flip a Spanish conversation to English."""
    tokens = words(text)
    english = sum(t in _EN for t in tokens)
    spanish = sum(t in _ES for t in tokens) + 2 * sum(c in _ES_MARKS for c in text.lower())
    if spanish >= english + 2 and "es" in supported:
        return "es"
    if english >= spanish + 2 and "en" in supported:
        return "en"
    return current


def yes_or_no(text: str) -> bool | None:
    """True for a yes, False for a no, None when it is neither (or both)."""
    tokens = set(words(text))
    yes, no = bool(tokens & YES), bool(tokens & NO)
    if yes == no:
        return None
    return yes


def is_question(text: str) -> bool:
    stripped = text.strip()
    if stripped.endswith("?") or stripped.startswith("¿"):
        return True
    tokens = words(stripped)
    return bool(tokens) and tokens[0] in _QUESTION_WORDS


def mentions(text: str, phrases: Iterable[str]) -> str | None:
    """The first phrase that occurs in ``text`` as whole words (case and accents ignored)."""
    said = f" {' '.join(words(text))} "
    for phrase in phrases:
        folded = " ".join(words(phrase))
        if folded and f" {folded} " in said:
            return phrase
    return None
