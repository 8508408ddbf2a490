"""GRPO rewards: accuracy (math-verify), format, and language consistency.

Each function has TRL's reward signature: it receives the batch's `completions` plus the
dataset's columns as keyword arguments (`answer`, `lang`) and returns one float per
completion. The trainer combines them with `reward_weights` (lambda1..3 of the paper).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from pscale.grading import is_correct
from pscale.languages import STUDY_LANGUAGES, detect_language

Completion = str | list[dict[str, str]]

_THINK_THEN_BOXED = re.compile(r"^\s*<think>(?P<think>.+?)</think>(?P<rest>.*)$", re.DOTALL)


def completion_text(completion: Completion) -> str:
    """The text of a completion, whether TRL passes a string or chat messages."""
    if isinstance(completion, str):
        return completion
    return "".join(message.get("content", "") for message in completion)


def accuracy_reward(completions: Sequence[Completion], answer: Sequence[str], **_: Any) -> list[float]:
    """1.0 when the boxed answer equals the gold answer (math-verify), else 0.0."""
    return [float(is_correct(gold, completion_text(c))) for c, gold in zip(completions, answer, strict=True)]


def format_score(text: str) -> float:
    """0.5 for one well-formed <think>...</think> block first, 0.5 for a \\boxed{} answer after it."""
    match = _THINK_THEN_BOXED.match(text)
    if match is None:
        return 0.5 if "\\boxed{" in text and "<think>" not in text else 0.0
    think_ok = "<think>" not in match["think"] and "</think>" not in match["rest"]
    return 0.5 * think_ok + 0.5 * ("\\boxed{" in match["rest"])


def format_reward(completions: Sequence[Completion], **_: Any) -> list[float]:
    return [format_score(completion_text(c)) for c in completions]


def make_language_reward(
    languages: Sequence[str] = STUDY_LANGUAGES, min_letters: int = 3
) -> Callable[..., list[float]]:
    """A reward of 1.0 when the response is in the prompt's language, else 0.0."""
    allowed = tuple(languages)

    def language_reward(completions: Sequence[Completion], lang: Sequence[str], **_: Any) -> list[float]:
        return [
            float(detect_language(completion_text(c), allowed, min_letters) == target)
            for c, target in zip(completions, lang, strict=True)
        ]

    return language_reward


def reward_functions(
    weights: dict[str, float], languages: Sequence[str] = STUDY_LANGUAGES
) -> tuple[list[Callable[..., list[float]]], list[float]]:
    """The reward functions and their weights in the order TRL expects them."""
    funcs = [accuracy_reward, format_reward, make_language_reward(languages)]
    return funcs, [weights["accuracy"], weights["format"], weights["language"]]
