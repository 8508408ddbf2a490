"""The study languages and the offline language identification used by rewards, scoring and QC.

The language of a response is a *share*, not a whole-text label. A whole-text score lets the
script decide: a response that is 70% English and 30% Thai came out as Thai most of the time,
while the same mix with Spanish came out as English, so off-target rates depended on the
query's script. Here a response is cut into segments (lines and sentences, then runs of one
script, so scripts written without spaces need no word splitting), every segment is
identified on its own, and segments are weighted by their letters:

* ``lang_share(text, lang)``: the share of the response's letters in `lang` (0.0 when it has
  fewer than `min_letters`, e.g. a bare ``\\boxed{7}``).
* ``detect_language(text)``: the language with most letters, among *all* the languages the
  identifier knows, so a Portuguese answer to a Spanish query is ``pt`` and never folded into
  ``es``; ``und`` when there are too few letters.

Letters are weighted so that no script is favoured: combining vowel signs count (Thai, Bengali
and Telugu write vowels as marks), and a CJK or Hangul character counts as 3 (one carries
about as much text as three Latin letters: the weight the translation validator's length check
uses). A segment with fewer than ``SHORT_SEGMENT`` weighted letters ("Step", a name) is too
short to identify reliably and takes the language of the nearest longer segment in its script.
A script that only one known language uses (Thai, Telugu, Hangul, kana, ...) decides by itself.

The identifier is py3langid over all the languages it knows, with a prior for the study
languages (``OTHER_LANGUAGE_ODDS``): on the same probes it was the most accurate of the
identifiers installable from PyPI (README, "Language identification"; benchmarks/language_id.py).
LaTeX, numbers and think tags carry no language signal and are stripped first.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import defaultdict
from typing import Any

#: ISO 639-1 codes of the 11 study languages, in the paper's order.
STUDY_LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "de", "ru", "zh", "ja", "th", "sw", "bn", "te")

LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "ru": "Russian",
    "zh": "Chinese",
    "ja": "Japanese",
    "th": "Thai",
    "sw": "Swahili",
    "bn": "Bengali",
    "te": "Telugu",
}

#: Label for a text with too few letters to classify (e.g. only "\\boxed{7}").
UNDETERMINED = "und"

#: Segments lighter than this (weighted letters) inherit the language of a longer neighbour.
SHORT_SEGMENT = 12

# What carries no language signal: think tags, \boxed{...}, $...$ / \(...\) / \[...\] math,
# LaTeX commands, digits and arithmetic. Removed before classification.
_NON_LANGUAGE = re.compile(
    r"</?think>|\\boxed\{[^{}]*\}|\$\$.*?\$\$|\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]|\\[a-zA-Z]+"
    r"|\d+(?:[.,]\d+)?|[+\-*/=^_{}()\[\]<>|\\#%&~`@]",
    re.DOTALL,
)


@functools.lru_cache(maxsize=1)
def digit_table() -> dict[int, str]:
    """str.translate table: every non-ASCII Unicode decimal digit (Bengali, Thai, Telugu,
    Arabic-Indic, full-width, ...) -> its ASCII digit. Shared by grading and the translation
    validator, so an answer and a translated number are read the same way."""
    return {
        code: str(digit)
        for code in range(0x80, 0x110000)
        if (digit := unicodedata.decimal(chr(code), None)) is not None
    }


#: Chinese / Japanese numerals (grading reads 二百零四 as 204; the translation validator counts
#: 四周 as 4 weeks): one table for both.
CJK_DIGITS = {
    "零": 0,
    "〇": 0,
    "○": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
CJK_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
CJK_LARGE_UNITS = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
_CJK_NUMERAL = re.compile(f"-?[{''.join(CJK_DIGITS)}{''.join(CJK_SMALL_UNITS)}{''.join(CJK_LARGE_UNITS)}]+")


def cjk_integer(text: str) -> int | None:
    """The integer a CJK numeral names (二百零四 -> 204, 二〇二四 -> 2024), None if `text` is not one."""
    text = text.strip()
    if not _CJK_NUMERAL.fullmatch(text):
        return None
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("-")
    if all(ch in CJK_DIGITS for ch in text):  # positional: 二〇二四
        return sign * int("".join(str(CJK_DIGITS[ch]) for ch in text))
    total, section, number = 0, 0, 0
    for ch in text:
        if ch in CJK_DIGITS:
            number = CJK_DIGITS[ch]
        elif ch in CJK_SMALL_UNITS:
            section += (number or 1) * CJK_SMALL_UNITS[ch]
            number = 0
        else:
            total = (total + section + number) * CJK_LARGE_UNITS[ch]
            section = number = 0
    return sign * (total + section + number)


def ascii_digits(text: str) -> str:
    """`text` with every script's decimal digits in ASCII."""
    return text.translate(digit_table())


def strip_non_language(text: str) -> str:
    """Text with math, numbers and tags removed, whitespace collapsed."""
    return " ".join(_NON_LANGUAGE.sub(" ", text).split())


# ------------------------------------------------------------------------------------------
# Segmentation: one tag character per input character, then runs of one tag
# ------------------------------------------------------------------------------------------

# Script groups (letters and marks of the block); Han, kana and Hangul are "wide" (weight 3).
_BLOCKS: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x024F, "L"),
    (0x1E00, 0x1EFF, "L"),
    (0x0250, 0x02AF, "L"),
    (0x0370, 0x03FF, "G"),
    (0x0400, 0x052F, "C"),
    (0x0530, 0x058F, "M"),
    (0x0590, 0x05FF, "W"),
    (0x0600, 0x06FF, "A"),
    (0x0750, 0x077F, "A"),
    (0x0900, 0x097F, "D"),
    (0x0980, 0x09FF, "B"),
    (0x0A00, 0x0A7F, "P"),
    (0x0A80, 0x0AFF, "U"),
    (0x0B00, 0x0B7F, "O"),
    (0x0B80, 0x0BFF, "N"),
    (0x0C00, 0x0C7F, "E"),
    (0x0C80, 0x0CFF, "K"),
    (0x0D00, 0x0D7F, "Y"),
    (0x0D80, 0x0DFF, "S"),
    (0x0E00, 0x0E7F, "T"),
    (0x0E80, 0x0EFF, "V"),
    (0x0F00, 0x0FFF, "X"),
    (0x1000, 0x109F, "R"),
    (0x10A0, 0x10FF, "Q"),
    (0x1100, 0x11FF, "h"),
    (0x1200, 0x139F, "I"),
    (0x1780, 0x17FF, "J"),
    (0x3040, 0x30FF, "H"),
    (0x31F0, 0x31FF, "H"),
    (0x3400, 0x4DBF, "H"),
    (0x4E00, 0x9FFF, "H"),
    (0xF900, 0xFAFF, "H"),
    (0xAC00, 0xD7AF, "h"),
    (0x3130, 0x318F, "h"),
)
_WIDE_TAGS = "Hh"
_BREAK = "|"  # sentence end or line break: segments never cross it
_SENTENCE_END = ".!?;\n\r。！？；।॥۔"
_OTHER_LETTER = "Z"


@functools.lru_cache(maxsize=1)
def _tag_table() -> dict[int, str]:
    """str.translate table: each BMP character -> its script tag, ' ' (no letter) or '|' (break)."""
    table: dict[int, str] = {}
    for code in range(0x10000):
        char = chr(code)
        category = unicodedata.category(char)
        if char in _SENTENCE_END:
            table[code] = _BREAK
        elif category[0] in "LM":
            table[code] = next((tag for low, high, tag in _BLOCKS if low <= code <= high), _OTHER_LETTER)
        else:
            table[code] = " "
    return table


class _TagTable(dict):
    """The BMP table; characters beyond it (rare CJK extensions, emoji) are letters of 'other' or spaces."""

    def __missing__(self, code: int) -> str:
        return "H" if 0x20000 <= code <= 0x3FFFF else " "


@functools.lru_cache(maxsize=1)
def _full_tag_table() -> _TagTable:
    return _TagTable(_tag_table())


_RUN = re.compile(r"([^ |])(?:\1| )*")


def segments(text: str) -> list[tuple[str, str, int]]:
    """(segment text, script tag, weighted letters) for each one-script run of each sentence/line."""
    stripped = _NON_LANGUAGE.sub(" ", text)
    tags = stripped.translate(_full_tag_table())
    found: list[tuple[str, str, int]] = []
    for run in _RUN.finditer(tags):
        tag = run.group(1)
        letters = run.end() - run.start() - run.group().count(" ")
        weight = letters * 3 if tag in _WIDE_TAGS else letters
        found.append((" ".join(stripped[run.start() : run.end()].split()), tag, weight))
    return found


# ------------------------------------------------------------------------------------------
# Identification
# ------------------------------------------------------------------------------------------


#: A language outside the study set is reported only when the identifier finds it this many times
#: more probable than the most probable study language (see the module doc).
OTHER_LANGUAGE_ODDS = 10.0


@functools.lru_cache(maxsize=1)
def _identifier() -> tuple[Any, list[str], list[int], list[int]]:
    """py3langid over all its languages, the labels, and the columns of study / other languages."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    labels = list(model.nb_classes)
    study = [i for i, lang in enumerate(labels) if lang in STUDY_LANGUAGES]
    other = [i for i, lang in enumerate(labels) if lang not in STUDY_LANGUAGES]
    return model, labels, study, other


_LOG_ODDS = math.log(OTHER_LANGUAGE_ODDS)


@functools.lru_cache(maxsize=200_000)
def identify_segment(segment: str) -> str:
    """The language of one segment among all that py3langid knows (cached: lines repeat).

    The study languages get a prior: another language wins only at OTHER_LANGUAGE_ODDS times the
    probability of the best study language, so Portuguese is ``pt``, but a Swahili sentence full
    of names is not Javanese and simplified Chinese is not Wu. py3langid's calibrated
    probabilities are softmax(raw / sqrt(bytes)), so the odds are compared on raw scores
    (the same decision without normalising 142 probabilities per segment).
    """
    model, labels, study, other = _identifier()
    encoded = model._encode(segment)  # py3langid 0.4 (pinned): NFC, UTF-8
    raw = model._raw_score(encoded)
    best_study = study[int(raw[study].argmax())]  # raw: py3langid's numpy scores; lists index them
    best_other = other[int(raw[other].argmax())]
    if (raw[best_other] - raw[best_study]) / math.sqrt(len(encoded) or 1) > _LOG_ODDS:
        return labels[best_other]
    return labels[best_study]


_STUDY = frozenset(STUDY_LANGUAGES)


#: Scripts that only one language the identifier knows is written in: the script decides (this is
#: what py3langid would answer, without reading every byte of the segment).
SCRIPT_LANGUAGE: dict[str, str] = {
    "T": "th",
    "E": "te",
    "h": "ko",
    "K": "kn",
    "Y": "ml",
    "N": "ta",
    "U": "gu",
    "P": "pa",
    "O": "or",
    "S": "si",
    "V": "lo",
    "J": "km",
    "Q": "ka",
    "M": "hy",
    "R": "my",
}
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")


def _segment_language(segment: str, tag: str) -> str:
    if tag in SCRIPT_LANGUAGE:
        return SCRIPT_LANGUAGE[tag]
    if tag == "H" and _KANA.search(segment):  # kana is written in Japanese only
        return "ja"
    return identify_segment(segment)


def language_letters(text: str) -> dict[str, int]:
    """Weighted letters per language in `text` (empty when there are none)."""
    found = segments(text)
    labels: list[str | None] = [
        _segment_language(seg, tag) if weight >= SHORT_SEGMENT or tag in SCRIPT_LANGUAGE else None
        for seg, tag, weight in found
    ]
    for index, (segment, tag, _weight) in enumerate(found):
        if labels[index] is None:
            labels[index] = _nearest_label(found, labels, index, tag) or _segment_language(segment, tag)
    letters: dict[str, int] = defaultdict(int)
    for (_segment, _tag, weight), label in zip(found, labels, strict=True):
        letters[label] += weight  # type: ignore[index]
    return dict(letters)


def _nearest_label(found: list[tuple[str, str, int]], labels: list[str | None], index: int, tag: str) -> str | None:
    for distance in range(1, len(found)):
        for neighbour in (index - distance, index + distance):
            if 0 <= neighbour < len(found) and found[neighbour][1] == tag and found[neighbour][2] >= SHORT_SEGMENT:
                return labels[neighbour]
    return None


def language_shares(text: str, min_letters: int = 3) -> dict[str, float]:
    """Share of the text's weighted letters per language ({} when it has fewer than `min_letters`)."""
    letters = language_letters(text)
    total = sum(letters.values())
    if total < min_letters:
        return {}
    return {lang: count / total for lang, count in letters.items()}


def lang_share(text: str, lang: str, min_letters: int = 3) -> float:
    """Share of the response's letters written in `lang` (0.0 for a response without language)."""
    return language_shares(text, min_letters).get(lang, 0.0)


def dominant_language(shares: dict[str, float]) -> str:
    """The language with the largest share (UNDETERMINED for no shares); ties go to the first seen."""
    return max(shares, key=shares.__getitem__) if shares else UNDETERMINED


def detect_language(text: str, min_letters: int = 3) -> str:
    """The dominant language of `text` among all known languages, or UNDETERMINED."""
    return dominant_language(language_shares(text, min_letters))
