"""Answer extraction and checking with math-verify, shared by the GRPO reward and scoring.

math-verify's non-LaTeX answer anchors ("the final answer is") are English-only, so by
default only ``\\boxed{}`` answers are graded: a model is not rewarded for answering in
English phrasing. math-verify's timeouts use ``signal.alarm``, which only works on the main
thread; elsewhere they are disabled.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from math_verify import ExprExtractionConfig, LatexExtractionConfig, StringExtractionConfig, parse, verify

from pscale.prompts import LETTERS

_BOXED_ONLY = [LatexExtractionConfig(boxed_match_priority=0, try_extract_without_anchor=False)]
_ANY_ANSWER = [LatexExtractionConfig(), ExprExtractionConfig()]


def _timeout(seconds: int) -> int | None:
    return seconds if threading.current_thread() is threading.main_thread() else None


@functools.lru_cache(maxsize=65536)
def parse_gold(answer: str) -> tuple[Any, ...]:
    """Parsed gold answer (cached: the same gold is checked against many samples)."""
    text = answer if "$" in answer or "\\boxed" in answer else f"${answer}$"
    return tuple(parse(text, extraction_config=_ANY_ANSWER, parsing_timeout=_timeout(5)))


def extract_answer(response: str, require_boxed: bool = True) -> list[Any]:
    """math-verify's parse of the response's answer ([] when there is none)."""
    if require_boxed:
        if "\\boxed" not in response:
            return []
        return parse(response, extraction_config=_BOXED_ONLY, parsing_timeout=_timeout(5))
    return parse(response, extraction_config=_ANY_ANSWER, parsing_timeout=_timeout(5))


def answer_string(parsed: list[Any]) -> str | None:
    """The extracted answer as text (math-verify returns [expr, source string])."""
    if not parsed:
        return None
    return str(parsed[-1])


def _letters(n: int) -> StringExtractionConfig:
    return StringExtractionConfig(strings=tuple(LETTERS[:n]))


def grade_choice(gold: str, response: str, n_choices: int = 4, require_boxed: bool = True) -> tuple[str | None, bool]:
    """Multiple choice: the option letter in the answer (inside \\boxed{} by default) against the gold letter."""
    if require_boxed:
        boxed = answer_string(extract_answer(response, require_boxed=True))
        if boxed is None:
            return None, False
        response = boxed
    parsed = parse(response, extraction_config=[_letters(n_choices)], parsing_timeout=_timeout(5))
    if not parsed:
        return None, False
    gold_parsed = parse(gold, extraction_config=[_letters(n_choices)], parsing_timeout=_timeout(5))
    return answer_string(parsed), bool(verify(gold_parsed, parsed, timeout_seconds=_timeout(5)))


def grade(
    gold: str, response: str, require_boxed: bool = True, n_choices: int = 0
) -> tuple[str | None, bool]:
    """(extracted answer or None, whether it equals the gold answer); gold goes first to verify.

    `n_choices` > 0 grades a multiple-choice item by its option letter.
    """
    if n_choices:
        return grade_choice(gold, response, n_choices, require_boxed)
    parsed = extract_answer(response, require_boxed)
    if not parsed:
        return None, False
    return answer_string(parsed), bool(verify(list(parse_gold(gold)), parsed, timeout_seconds=_timeout(5)))


def is_correct(gold: str, response: str, require_boxed: bool = True, n_choices: int = 0) -> bool:
    return grade(gold, response, require_boxed, n_choices)[1]
