"""Checks every machine translation must pass before it is used.

The paper describes no quality control for its GPT-4o-mini translations. These checks are
cheap, offline and deterministic (a cached translation is re-checked on every run, so
tightening a bound never needs a request). They must be fair to good translations (a false
alarm fails the stage or drops an item from every language) and still catch real defects:

* wrapper / refusal, judged by position and form: a short "...translation:" lead before the
  text, an added first or last line that is a note, a parenthesised note at the end, quotes
  around the whole output when the source did not start with one, a code block;
* leak: the translation instructions, or a sentence of the English original, in the output;
* language: at least half of the output's letters in the target language (segment-level shares,
  pscale.languages; a non-study language is named as itself);
* figure: [asy] / TikZ code kept (quoted labels may be translated);
* numbers: normalised multisets (digits of every script, superscripts, grouping, decimal
  commas); a number that is part of a word in the source ("3-dimensional") may become a word;
* formula: chemical formulas (NaOH, KMnO4) kept;
* latex: every LaTeX command, and every math segment's content, wherever the output puts its
  delimiters (a translator may write $A$ for a plain A or \\[ \\] for $$ $$; a "$2 each ... $5"
  span is money, not math);
* a script-aware length ratio.

A failure is a one-line reason that is shown to the model on retry and written to the QC
table: its first word (before ':') is the machine-readable code. False-alarm and catch rates on
tests/data/translation_probes.yaml: benchmarks/validator_probes.py (numbers in the README).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pscale.config import validate_options
from pscale.languages import LANGUAGE_NAMES, ascii_digits, dominant_language, language_shares, strip_non_language

#: Failure codes, in the order the checks run.
REASONS = (
    "empty",
    "truncated",
    "refusal",
    "wrapper",
    "leak",
    "language",
    "figure",
    "numbers",
    "formula",
    "latex",
    "length",
)


@dataclass(frozen=True)
class ValidationSettings:
    """The `translation.openai.validation` config section."""

    language: bool
    numbers: bool
    latex: bool
    wrapper: bool
    length_ratio_min: float
    length_ratio_max: float
    min_chars: int

    @classmethod
    def from_config(cls, options: Mapping[str, Any] | None = None) -> ValidationSettings:
        """From (part of) the section, validated; keys left out take the schema's defaults."""
        return cls(**validate_options(options or {}, "/properties/translation/properties/openai/properties/validation"))


# Digits of any script count (some models write Bengali or Thai digits) and superscript /
# subscript digits too (cm³ for cm^3); separators inside a number (1,000 / 1.000 / 1 000 / 3,5)
# are dropped, so localized formatting still matches.
_NUMBER = re.compile(r"\d+(?:[.,'\u00a0\u202f\u2009]\d+|\s\d{3}(?!\d))*")
_SCRIPT_DIGITS = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉]+")
# A number that is part of a word ("3-dimensional", "2-digit"): a language may write it as a word.
_NUMBER_IN_WORD = re.compile(r"(?<![\d.,])(\d+)-(?=[^\W\d_]{3,})")
_LATEX_COMMAND = re.compile(r"\\[a-zA-Z]+")
_MATH_SEGMENT = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_TEXT_ARGUMENT = re.compile(r"\\(?:text|textbf|textit|textrm|mbox|mathrm|operatorname)\s*\{[^{}]*\}")
_PROSE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}\s+[A-Za-z]{2,}\b")
_FIGURE = re.compile(r"\[asy\].*?\[/asy\]|\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", re.DOTALL)
_QUOTED = re.compile(r"\"[^\"\n]*\"")
# A chemical formula: two or more element symbols with a digit or a two-letter symbol (NaOH,
# KMnO4, C8H10); all-capital acronyms (DNA, GGT) are left out, translations may localise them.
_FORMULA = re.compile(r"(?<![A-Za-z])(?=[A-Z][a-z]?\d*[A-Z])(?=\S*(?:\d|[A-Z][a-z]))(?:[A-Z][a-z]?\d*){2,}(?![A-Za-z])")
_WIDE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")

_LEAD_IN = re.compile(
    r"^\W*(?:sure|certainly|of course|okay|here is|here's|below is|the translation|translation|translated text)\b",
    re.IGNORECASE,
)
_TRANSLATION_WORD = re.compile(
    r"translat|traducci|traduction|traduç|übersetz|перевод|翻译|翻譯|翻訳|訳文|แปล|tafsiri|অনুবাদ|అనువాద", re.IGNORECASE
)
_REFUSAL = re.compile(
    r"\b(?:I'm sorry|I am sorry|I apologi[sz]e|I cannot|I can't|I can not|I'm unable|I am unable|as an AI)\b",
    re.IGNORECASE,
)
_NOTE = re.compile(
    r"^\W*(?:note|nota|remarque|hinweis|anmerkung|примечание|замечание|注|注意|备注|หมายเหตุ|kumbuka|দ্রষ্টব্য|"
    r"বিঃদ্রঃ|గమనిక|p\.?\s?s)\b|^\W*(?:注|注意|备注|หมายเหตุ)",
    re.IGNORECASE,
)
# What a leaked translation prompt looks like: instructions about translating, in English.
_PROMPT_LEAK = re.compile(
    r"\btranslate (?:the|this|the user's|the following)\b|\byou are a (?:professional )?translator\b|"
    r"\boutput only the translation\b|\bkeep (?:every|all) (?:number|latex|line)|\bdo not solve\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]{2,}")
_OPENING_QUOTES = "\"“”«»„「『'‘‚"
_CLOSING_QUOTES = "\"“”«»」』'’‘"
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


def _ascii_numbers(text: str) -> str:
    """Super/subscript digit runs as separate ASCII numbers, then every script's digits in ASCII."""
    text = _SCRIPT_DIGITS.sub(lambda m: " " + "".join(str(unicodedata.digit(c)) for c in m.group()), text)
    return ascii_digits(text)


def numbers_of(text: str) -> Counter[str]:
    """Multiset of the numbers in `text`, as ASCII digit strings without separators."""
    return Counter(re.sub(r"\D", "", m.group()) for m in _NUMBER.finditer(_ascii_numbers(text)))


def numbers_in_words(text: str) -> Counter[str]:
    """Numbers written as part of a word ("3-dimensional"): a translation may spell them out."""
    return Counter(_NUMBER_IN_WORD.findall(_ascii_numbers(text)))


def latex_of(text: str) -> Counter[str]:
    """Multiset of LaTeX commands (delimiters are compared as math segments, not counted)."""
    return Counter(_LATEX_COMMAND.findall(text))


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", _ascii_numbers(_TEXT_ARGUMENT.sub("", text)))


def math_segments(text: str) -> list[str]:
    """The contents of $...$, $$...$$, \\(...\\) and \\[...\\], without spaces or \\text{} arguments.

    A "$ ... $" span that holds prose ("$2 each and a notebook for $5") is money, not math.
    """
    found = []
    for match in _MATH_SEGMENT.finditer(text):
        content = next(group for group in match.groups() if group is not None)
        if _PROSE.search(_TEXT_ARGUMENT.sub("", content)):
            continue
        if compact := _compact(content):
            found.append(compact)
    return found


def _figure_code(block: str) -> str:
    """A figure's code without its quoted labels (a translator may translate a label's words)."""
    return re.sub(r"\s+", "", _QUOTED.sub('""', block))


def weighted_length(text: str) -> int:
    """Length with a CJK character counted as 3: one range of ratios then fits every language.

    An English word averages ~5-6 characters with its space; a Chinese or Japanese word is
    ~1.5-2 characters, so a faithful Chinese translation has ~1/3 of the source's characters.
    """
    collapsed = " ".join(text.split())
    return len(collapsed) + 2 * len(_WIDE.findall(collapsed))


def _missing(source: Counter[str], output: Counter[str]) -> list[str]:
    return sorted((source - output).elements())


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n") if line.strip()]


def _lead(text: str) -> str:
    """What comes before the first colon of the first line, if that is short (a heading or preface)."""
    lines = _lines(text)
    match = re.match(r"^([^:：]{1,60})[:：]", lines[0]) if lines else None
    return match.group(1) if match else ""


def _wrapper_reason(source: str, output: str) -> str | None:
    """Refusals and text around the translation, judged by position and form, not by keywords alone."""
    if _REFUSAL.search(output) and not _REFUSAL.search(source):
        return "refusal: the output refuses or apologises instead of translating"
    if _LEAD_IN.search(output) and not _LEAD_IN.search(source):
        return "wrapper: the output starts with a preface; output only the translation"
    lead = _lead(output)
    if lead and _TRANSLATION_WORD.search(lead) and not _TRANSLATION_WORD.search(_lead(source) or source[:80]):
        return "wrapper: the output starts with a heading line; output only the translation"
    source_lines, output_lines = _lines(source), _lines(output)
    if len(output_lines) > len(source_lines):  # an added line: a note before or after the translation?
        for line in (output_lines[0], output_lines[-1]):
            if _NOTE.search(line.lstrip("( ")):
                return "wrapper: the output adds a note or comment; output only the translation"
    trailing_note = re.search(r"\((?:note|nota|remarque|hinweis|примечание|注)\b[^)]*\)\s*$", output.strip(), re.I)
    if trailing_note and not re.search(r"\([^)]*\)\s*$", source.strip()):
        return "wrapper: the output adds a note or comment; output only the translation"
    if "```" in output and "```" not in source:
        return "wrapper: the output is in a code block; output only the translation"
    stripped, src = output.strip(), source.strip()
    wrapped = len(stripped) > 1 and stripped[0] in _OPENING_QUOTES and stripped[-1] in _CLOSING_QUOTES
    if wrapped and src[:1] not in _OPENING_QUOTES:
        return "wrapper: the output is wrapped in quotes; output only the translation"
    return None


def _prompt_leak_reason(source: str, output: str) -> str | None:
    """The translation prompt copied into the output."""
    if _PROMPT_LEAK.search(output) and not _PROMPT_LEAK.search(source):
        return "leak: the output contains the translation instructions; output only the translation"
    return None


def _original_leak_reason(source: str, output: str, lang: str) -> str | None:
    """A sentence of the English original copied next to its translation."""
    if lang == "en":
        return None
    for sentence in _SENTENCE.findall(source):
        if len(strip_non_language(sentence)) >= 20 and sentence.strip() in output:
            return "leak: the output repeats the English original; output only the translation"
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
    if settings.wrapper and (reason := _wrapper_reason(source, output) or _prompt_leak_reason(source, output)):
        return reason
    long_enough = len(strip_non_language(source)) >= settings.min_chars
    if settings.language and long_enough:
        shares = language_shares(output)
        if shares.get(lang, 0.0) < 0.5:
            detected = dominant_language(shares)
            name = LANGUAGE_NAMES.get(detected, "no language" if detected == "und" else "another language")
            return f"language: the output is in {name} ({detected}), not {LANGUAGE_NAMES.get(lang, lang)}"
    if settings.wrapper and (reason := _original_leak_reason(source, output, lang)):
        return reason
    if settings.latex:
        source_figures, output_figures = _FIGURE.findall(source), _FIGURE.findall(output)
        if [_figure_code(f) for f in source_figures] != [_figure_code(f) for f in output_figures]:
            return "figure: the figure code ([asy] / TikZ) differs from the source; keep it exactly as written"
    if settings.numbers:
        missing = _missing(numbers_of(source) - numbers_in_words(source), numbers_of(output))
        if missing:
            return f"numbers: {', '.join(missing[:8])} missing from the output; keep every number as written"
        if formulas := _missing(Counter(_FORMULA.findall(source)), Counter(_FORMULA.findall(output))):
            return f"formula: {', '.join(formulas[:8])} missing from the output; keep every formula as written"
    if settings.latex:
        if missing := _missing(latex_of(source), latex_of(output)):
            return f"latex: {' '.join(missing[:8])} missing from the output; keep all LaTeX as written"
        compact_output = _compact(output)
        if lost := [segment for segment in math_segments(source) if segment not in compact_output]:
            return f"latex: the math {lost[0][:40]} is missing from the output; keep all LaTeX as written"
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
