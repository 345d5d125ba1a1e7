"""What the pure machine asks the service to do (effects) and what it gets back (results).

The machine stops at an effect with its state marked pending; the service performs it (an HTTP
call with a timeout, a knowledge-base lookup) and resumes the machine with the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HttpCall:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    timeout_seconds: float = 5.0


@dataclass(frozen=True)
class HttpResult:
    ok: bool  # a 2xx answer arrived in time
    status: int | None = None
    body: Any = None  # parsed JSON when the answer is JSON, else its text
    error: str | None = None  # "timeout", "connection", "status 503"…

    def as_variable(self) -> dict[str, Any]:
        value: dict[str, Any] = {"ok": self.ok, "status": self.status, "body": self.body}
        if self.error:
            value["error"] = self.error
        return value


@dataclass(frozen=True)
class KnowledgeQuery:
    text: str
    language: str


@dataclass(frozen=True)
class KnowledgeAnswer:
    article_id: str
    title: str
    url: str
    quote: str
    score: float


@dataclass(frozen=True)
class KnowledgeResult:
    answer: KnowledgeAnswer | None  # None: nothing scored above the threshold
    best_score: float = 0.0


Effect = HttpCall | KnowledgeQuery
Result = HttpResult | KnowledgeResult
