"""The openai backend's units of work: the text fields of an item, one job per distinct (language,
text) with its attempts, the token estimate of a request, and what a run used and cost.

Shared by the backend (openai_backend.py) and its Batch API mode (batch.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pscale.translate.cache import Completion
from pscale.translate.validate import ValidationSettings, check_translation

#: Token-count heuristic (no tokenizer download is possible offline). Per target language:
#: (characters of a translation per English source character, tokens per character of that
#: language) for an o200k-style tokenizer; English text is ~4 characters per token. Rough
#: (+-30%) but conservative; the stage records the *actual* usage the API reports.
SCRIPT_FACTORS: dict[str, tuple[float, float]] = {
    "en": (1.0, 0.25),
    "es": (1.15, 0.27),
    "fr": (1.2, 0.27),
    "de": (1.2, 0.28),
    "ru": (1.1, 0.32),
    "zh": (0.35, 0.75),
    "ja": (0.45, 0.8),
    "th": (1.0, 0.4),
    "sw": (1.15, 0.33),
    "bn": (1.0, 0.45),
    "te": (1.05, 0.5),
}
#: Chat-format overhead: tokens per message, and for priming the reply.
MESSAGE_TOKENS, REPLY_TOKENS = 4, 3


def estimate_tokens(messages: list[dict[str, str]], source: str, lang: str) -> tuple[int, int]:
    """(input, output) tokens of one request, without a tokenizer (see SCRIPT_FACTORS)."""
    inputs = sum(math.ceil(len(m["content"]) / 4) + MESSAGE_TOKENS for m in messages) + REPLY_TOKENS
    chars, per_char = SCRIPT_FACTORS.get(lang, (1.2, 0.5))
    return inputs, math.ceil(len(source) * chars * per_char) + 1


@dataclass
class Job:
    """One distinct (language, source text) and its attempts so far."""

    lang: str
    text: str
    sha: str
    key: str
    history: list[tuple[Completion, str | None]] = field(default_factory=list)
    error: str | None = None
    batch_failures: int = 0

    @property
    def result(self) -> str | None:
        return next((c.output for c, reason in self.history if reason is None), None)

    @property
    def reason(self) -> str | None:
        """Why the last attempt was rejected (None if accepted or never tried)."""
        return self.history[-1][1] if self.history else None

    def pending(self, max_attempts: int) -> bool:
        return self.error is None and self.result is None and len(self.history) < max_attempts

    def rejections(self) -> list[tuple[str, str]]:
        return [(c.output or "", reason) for c, reason in self.history if reason is not None]

    def add(self, completion: Completion, settings: ValidationSettings) -> None:
        reason = check_translation(self.text, completion.output, self.lang, settings, completion.finish_reason)
        self.history.append((completion, reason))


@dataclass(frozen=True)
class Unit:
    """One text field of one item: `question`, `solution`, or option `index` of `choices`."""

    item: str
    field: str
    index: int | None
    text: str | None


@dataclass
class Usage:
    """What this run sent and what it cost (actual tokens as reported by the API)."""

    mode: str
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    completions: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated_usage: int = 0

    def add(self, completion: Completion, estimate: tuple[int, int]) -> None:
        self.completions += 1
        if completion.prompt_tokens is None or completion.completion_tokens is None:
            self.estimated_usage += 1
        self.prompt_tokens += completion.prompt_tokens if completion.prompt_tokens is not None else estimate[0]
        self.completion_tokens += (
            completion.completion_tokens if completion.completion_tokens is not None else estimate[1]
        )


def cost_usd(prompt_tokens: float, completion_tokens: float, prices: dict[str, float], batch: bool) -> float:
    factor = prices["batch_discount"] if batch else 1.0
    return factor * (prompt_tokens * prices["input_per_1m"] + completion_tokens * prices["output_per_1m"]) / 1e6


def completion_from(response: Any, attempt: int, mode: str) -> Completion:
    """A Completion from a chat.completion object or its JSON (Batch API output line body)."""
    data = response if isinstance(response, dict) else response.model_dump()
    choices = data.get("choices") or []
    if not choices:
        raise ValueError("response has no choices")
    usage = data.get("usage") or {}
    return Completion(
        attempt,
        (choices[0].get("message") or {}).get("content"),
        choices[0].get("finish_reason"),
        usage.get("prompt_tokens"),
        usage.get("completion_tokens"),
        mode,
    )
