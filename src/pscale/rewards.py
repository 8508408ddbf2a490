"""GRPO rewards: accuracy (math-verify), format, and language consistency.

Each function has TRL's reward signature: it receives the batch's `completions` plus the
dataset's columns as keyword arguments (`answer`, `lang`, optionally `n_choices`) and returns
one float per completion; `lang`, the query language, also sets how a number is read (decimal
comma). The trainer combines them with `reward_weights` (lambda1..3 of the
paper). Every reward reads the `scoring` settings that evaluation uses (require_boxed,
min_letters), so a model is trained on exactly the grading it is evaluated with.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pscale.errors import UserError
from pscale.grading import ScoringSettings, grade
from pscale.languages import STUDY_LANGUAGES, lang_share

Completion = str | list[dict[str, Any]]

_THINK_THEN_BOXED = re.compile(r"^\s*<think>(?P<think>.+?)</think>(?P<rest>.*)$", re.DOTALL)


def _message_text(message: Mapping[str, Any]) -> str:
    """A chat message as text; TRL puts a parsed think block in `reasoning_content` (or `thinking`)."""
    content = message.get("content") or ""
    reasoning = message.get("reasoning_content") or message.get("thinking")
    return f"<think>{reasoning}</think>{content}" if reasoning else content


def completion_text(completion: Completion) -> str:
    """The text of a completion, whether TRL passes a string or chat messages."""
    if isinstance(completion, str):
        return completion
    return "".join(_message_text(message) for message in completion)


def format_score(text: str) -> float:
    """0.5 for one well-formed <think>...</think> block first, 0.5 for a \\boxed{} answer after it.

    A chat template that pre-fills ``<think>`` in the prompt leaves the completion starting
    inside the block ("reasoning</think>answer"): that counts as the block opening.
    """
    if "</think>" in text and "<think>" not in text.split("</think>", 1)[0]:
        text = "<think>" + text
    match = _THINK_THEN_BOXED.match(text)
    if match is None:
        return 0.5 if "\\boxed{" in text and "<think>" not in text else 0.0
    think_ok = "<think>" not in match["think"] and "</think>" not in match["rest"]
    return 0.5 * think_ok + 0.5 * ("\\boxed{" in match["rest"])


def make_accuracy_reward(settings: ScoringSettings | None = None) -> Callable[..., list[float]]:
    """1.0 when the answer the grading rules count equals the gold answer, else 0.0."""
    settings = settings or ScoringSettings.from_config()

    def accuracy_reward(
        completions: Sequence[Completion],
        answer: Sequence[str],
        n_choices: Sequence[int] | None = None,
        lang: Sequence[str] | None = None,
        **_: Any,
    ) -> list[float]:
        choices = n_choices if n_choices is not None else [0] * len(completions)
        langs = lang if lang is not None else ["en"] * len(completions)
        return [
            float(grade(gold, completion_text(c), settings.require_boxed, int(n or 0), query_lang)[1])
            for c, gold, n, query_lang in zip(completions, answer, choices, langs, strict=True)
        ]

    return accuracy_reward


def format_reward(completions: Sequence[Completion], **_: Any) -> list[float]:
    return [format_score(completion_text(c)) for c in completions]


def make_language_reward(
    languages: Sequence[str] = STUDY_LANGUAGES, settings: ScoringSettings | None = None
) -> Callable[..., list[float]]:
    """The share of the response's letters in the prompt's language (the score's `lang_share`).

    `languages` are the study languages a prompt can be in; the response itself is identified
    among all languages, so answering in a neighbouring language earns nothing.
    """
    settings = settings or ScoringSettings.from_config()
    allowed = frozenset(languages)

    def language_reward(completions: Sequence[Completion], lang: Sequence[str], **_: Any) -> list[float]:
        unknown = set(lang) - allowed
        if unknown:
            raise UserError(f"prompt languages {sorted(unknown)} are not among the study languages {sorted(allowed)}")
        return [
            lang_share(completion_text(c), target, settings.min_letters)
            for c, target in zip(completions, lang, strict=True)
        ]

    return language_reward


#: The default accuracy reward (scoring defaults), for callers that need no settings.
accuracy_reward = make_accuracy_reward()


def reward_functions(
    weights: dict[str, float],
    languages: Sequence[str] = STUDY_LANGUAGES,
    scoring: Mapping[str, Any] | None = None,
) -> tuple[list[Callable[..., list[float]]], list[float]]:
    """The reward functions and their weights in the order TRL expects them.

    `scoring` is the validated `scoring` config section (None: its defaults).
    """
    settings = ScoringSettings.from_config(scoring)
    funcs = [make_accuracy_reward(settings), format_reward, make_language_reward(languages, settings)]
    return funcs, [weights["accuracy"], weights["format"], weights["language"]]
