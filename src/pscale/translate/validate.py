"""Checks every machine translation must pass before it is used.

The paper describes no quality control for its GPT-4o-mini translations. These checks are
cheap, offline and deterministic (a cached translation is re-checked on every run, so
tightening a bound never needs a request): the language (offline language ID restricted to
the study languages, math stripped), every number and LaTeX command of the source, a
script-aware length ratio, and no refusal / commentary / "Here is the translation" wrapper.
A failure is a one-line reason that is shown to the model on retry and written to the QC
table: its first word (before ':') is the machine-readable code.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pscale.languages import LANGUAGE_NAMES, STUDY_LANGUAGES, detect_language, strip_non_language

#: Failure codes, in the order the checks run.
REASONS = ("empty", "truncated", "refusal", "wrapper", "language", "numbers", "latex", "length")


@dataclass(frozen=True)
class ValidationSettings:
    language: bool = True
    numbers: bool = True
    latex: bool = True
    wrapper: bool = True
    length_ratio_min: float = 0.4
    length_ratio_max: float = 2.5
    min_chars: int = 20

    @classmethod
    def from_config(cls, options: dict[str, Any]) -> ValidationSettings:
        return cls(**options)


# Digits of any script count (some models write Bengali or Thai digits); separators inside
# a number (1,000 / 1.000 / 1 000 / 3,5) are dropped, so localized formatting still matches.
_NUMBER = re.compile(r"\d+(?:[.,'\u00a0\u202f\u2009]\d+|\s\d{3}(?!\d))*")
_LATEX = re.compile(r"\\(?:[a-zA-Z]+|[()\[\]])")
_DOLLAR = re.compile(r"(?<!\\)\$")
_WIDE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")

_LEAD_IN = re.compile(
    r"^\W*(?:sure|certainly|of course|okay|here is|here's|below is|the translation|translation|translated text)\b",
    re.IGNORECASE,
)
_TRANSLATION_WORD = re.compile(
    r"translat|traducci|traduction|übersetz|перевод|翻译|翻譯|翻訳|訳文|แปล|tafsiri|অনুবাদ|అనువాద", re.IGNORECASE
)
_REFUSAL = re.compile(
    r"\b(?:I'm sorry|I am sorry|I apologi[sz]e|I cannot|I can't|I can not|I'm unable|I am unable|as an AI)\b",
    re.IGNORECASE,
)
_NOTE = re.compile(
    r"(?:^|\n)\W*(?:note|nota|remarque|hinweis|anmerkung|примечание|注|注意|หมายเหตุ|kumbuka|দ্রষ্টব্য|గమనిక)\s*[:：]",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]{2,}")
_QUOTES = (('"', '"'), ("“", "”"), ("«", "»"), ("「", "」"), ("'", "'"))


def _ascii_digits(text: str) -> str:
    return re.sub(r"\d", lambda m: str(unicodedata.decimal(m.group(), 0)), text)


def numbers_of(text: str) -> Counter[str]:
    """Multiset of the numbers in `text`, as ASCII digit strings without separators."""
    return Counter(re.sub(r"\D", "", m.group()) for m in _NUMBER.finditer(_ascii_digits(text)))


def latex_of(text: str) -> Counter[str]:
    """Multiset of LaTeX commands and \\( \\) \\[ \\] delimiters."""
    return Counter(_LATEX.findall(text))


def weighted_length(text: str) -> int:
    """Length with a CJK character counted as 3: one range of ratios then fits every language.

    An English word averages ~5-6 characters with its space; a Chinese or Japanese word is
    ~1.5-2 characters, so a faithful Chinese translation has ~1/3 of the source's characters.
    """
    collapsed = " ".join(text.split())
    return len(collapsed) + 2 * len(_WIDE.findall(collapsed))


def _missing(source: Counter[str], output: Counter[str]) -> list[str]:
    return sorted((source - output).elements())


def _wrapper_reason(source: str, output: str) -> str | None:
    if _REFUSAL.search(output) and not _REFUSAL.search(source):
        return "refusal: the output refuses or apologises instead of translating"
    if _LEAD_IN.search(output) and not _LEAD_IN.search(source):
        return "wrapper: the output starts with a preface; output only the translation"
    first_line = output.strip().split("\n", 1)[0]
    if (
        "\n" in output.strip()
        and first_line.rstrip().endswith((":", "："))
        and _TRANSLATION_WORD.search(first_line)
        and not _TRANSLATION_WORD.search(source.split("\n", 1)[0])
    ):
        return "wrapper: the output starts with a heading line; output only the translation"
    if _NOTE.search(output) and not _NOTE.search(source):
        return "wrapper: the output adds a note or comment; output only the translation"
    if "```" in output and "```" not in source:
        return "wrapper: the output is in a code block; output only the translation"
    stripped, src = output.strip(), source.strip()
    for left, right in _QUOTES:
        quoted = len(stripped) > 1 and stripped.startswith(left) and stripped.endswith(right)
        if quoted and not (src.startswith(left) and src.endswith(right)):
            return "wrapper: the output is wrapped in quotes; output only the translation"
    return None


def check_translation(
    source: str,
    output: str | None,
    lang: str,
    settings: ValidationSettings,
    finish_reason: str | None = None,
) -> str | None:
    """None when `output` is an acceptable translation of `source` into `lang`, else the reason."""
    if output is None or not output.strip():
        return "empty: the output has no text"
    if finish_reason == "length":
        return "truncated: the output was cut at max_tokens"
    if settings.wrapper and (reason := _wrapper_reason(source, output)):
        return reason
    long_enough = len(strip_non_language(source)) >= settings.min_chars
    if settings.language and long_enough:
        detected = detect_language(output, STUDY_LANGUAGES)
        if detected != lang:
            name = LANGUAGE_NAMES.get(detected, "no study language")
            return f"language: the output is in {name} ({detected}), not {LANGUAGE_NAMES.get(lang, lang)}"
    if settings.numbers and (missing := _missing(numbers_of(source), numbers_of(output))):
        return f"numbers: {', '.join(missing[:8])} missing from the output; keep every number as written"
    if settings.latex:
        if missing := _missing(latex_of(source), latex_of(output)):
            return f"latex: {' '.join(missing[:8])} missing from the output; keep all LaTeX as written"
        if len(_DOLLAR.findall(source)) != len(_DOLLAR.findall(output)):
            return "latex: the $ math delimiters differ from the source; keep all LaTeX as written"
    if long_enough:
        ratio = weighted_length(output) / max(1, weighted_length(source))
        if not settings.length_ratio_min <= ratio <= settings.length_ratio_max:
            return (
                f"length: the output is {ratio:.2f} times the source's length (allowed "
                f"{settings.length_ratio_min}-{settings.length_ratio_max}); translate everything, add nothing"
            )
    return None


def reason_code(reason: str) -> str:
    """The machine-readable part of a reason ("numbers", "language", ...)."""
    return reason.split(":", 1)[0]


def needs_translation(text: str | None) -> bool:
    """False for texts without words (an option like "$2\\sqrt{3}$", "42" or "x"): copied as is, never sent."""
    return bool(text) and _WORD.search(strip_non_language(text)) is not None
