"""Answer extraction and checking, shared by the GRPO reward, scoring and data ingestion.

The rules, the same for math and multiple choice, for every language and script:

* **The last ``\\boxed{}`` counts.** Earlier boxes (drafts, restated sub-results) are ignored;
  several answers inside that last box (``\\boxed{A, C}``, ``\\boxed{12, 13}``, ``\\boxed{A or D}``)
  are one hedged answer and are wrong unless the gold itself is that set (math only).
* **Answers are normalised before comparison** (:func:`normalize_answer`): every Unicode decimal
  digit (Bengali ২০৪, Telugu ౨౦౪, Thai ๒๐๔, Devanagari, Arabic-Indic, full-width ２０４) and every
  full-width form becomes ASCII, the Unicode minus becomes ``-``; a box holding only a CJK
  numeral (二百零四, 二〇二四) is read as that integer. Gold answers get the same treatment at
  ingestion, so a stored gold is already ASCII.
* **Multiple choice is graded by the option letter** (:func:`choice_letter`): ``A``, ``(A)``,
  ``A)``, ``A.``, ``A) option text``, ``\\text{A}``, lowercase, full-width and Cyrillic/Greek
  look-alike capitals all read as ``A``; more than one distinct letter is no answer.
* With ``require_boxed: false`` an unboxed answer is taken from an "answer is (B)"-style phrase
  in any study language (multiple choice) or math-verify's own anchors (math; English-only,
  which is why boxes are required by default).

math-verify stays the judge of mathematical equality (``verify(gold, pred)``, gold first). Its
timeouts use ``signal.alarm`` and only work on the main thread, so scoring runs in processes,
not threads. Two honest fast paths skip it: identical normalised strings are equal, and two
plain integers are equal exactly when their values are (what math-verify would decide too).
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Any

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

from pscale.languages import digit_table
from pscale.prompts import LETTERS

_BOXED_ONLY = [LatexExtractionConfig(boxed_match_priority=0, try_extract_without_anchor=False)]
_ANY_ANSWER = [LatexExtractionConfig(), ExprExtractionConfig()]


def _timeout(seconds: int) -> int | None:
    return seconds if threading.current_thread() is threading.main_thread() else None


# ------------------------------------------------------------------------------------------
# Normalisation
# ------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _answer_table() -> dict[int, str]:
    """str.translate table: non-ASCII decimal digits -> ASCII, full-width forms -> ASCII."""
    table = dict(digit_table())
    for code in range(0xFF01, 0xFF5F):  # full-width ASCII block
        table.setdefault(code, chr(code - 0xFEE0))
    table[0x3000] = " "  # ideographic space
    table[0x2212] = "-"  # minus sign
    table[0x066B] = "."  # Arabic decimal separator
    table[0x066C] = ","  # Arabic thousands separator
    return table


_CJK_DIGITS = {
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
_CJK_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_CJK_LARGE_UNITS = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
_CJK_NUMERAL = re.compile(f"-?[{''.join(_CJK_DIGITS)}{''.join(_CJK_SMALL_UNITS)}{''.join(_CJK_LARGE_UNITS)}]+")


def cjk_integer(text: str) -> int | None:
    """The integer a CJK numeral names (二百零四 -> 204, 二〇二四 -> 2024), None if `text` is not one."""
    text = text.strip()
    if not _CJK_NUMERAL.fullmatch(text):
        return None
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("-")
    if all(ch in _CJK_DIGITS for ch in text):  # positional: 二〇二四
        return sign * int("".join(str(_CJK_DIGITS[ch]) for ch in text))
    total, section, number = 0, 0, 0
    for ch in text:
        if ch in _CJK_DIGITS:
            number = _CJK_DIGITS[ch]
        elif ch in _CJK_SMALL_UNITS:
            section += (number or 1) * _CJK_SMALL_UNITS[ch]
            number = 0
        else:
            total = (total + section + number) * _CJK_LARGE_UNITS[ch]
            section = number = 0
    return sign * (total + section + number)


def normalize_answer(text: str) -> str:
    """An answer with every script's digits and full-width forms in ASCII (see the module doc)."""
    ascii_text = text.translate(_answer_table()).strip()
    number = cjk_integer(ascii_text)
    return str(number) if number is not None else ascii_text


# ------------------------------------------------------------------------------------------
# Finding the answer: the last \boxed{}
# ------------------------------------------------------------------------------------------

_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")


def boxed_contents(text: str) -> list[str]:
    """The contents of every ``\\boxed{...}`` (and ``\\fbox{}``) in order, braces balanced."""
    found: list[str] = []
    for match in _BOX_OPEN.finditer(text):
        depth, start = 1, match.end()
        for position in range(start, len(text)):
            char = text[position]
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    found.append(text[start:position])
                    break
    return found


def last_boxed(text: str) -> str | None:
    """The answer the rule counts: the last box's content, normalised (None when there is no box)."""
    if "box" not in text:
        return None
    contents = boxed_contents(text)
    return normalize_answer(contents[-1]) if contents else None


# ------------------------------------------------------------------------------------------
# Math answers
# ------------------------------------------------------------------------------------------

_INTEGER = re.compile(r"-?\d+")
_EQUATION_LHS = re.compile(r"^[a-zA-Z]\s*=\s*")


@functools.lru_cache(maxsize=65536)
def parse_gold(answer: str) -> tuple[Any, ...]:
    """Parsed gold answer (cached: the same gold is checked against many samples)."""
    answer = normalize_answer(answer)
    text = answer if "$" in answer or "\\boxed" in answer else f"${answer}$"
    return tuple(parse(text, extraction_config=_ANY_ANSWER, parsing_timeout=_timeout(5)))


@functools.lru_cache(maxsize=262144)
def _verify_box(gold: str, content: str) -> bool:
    """math-verify on one box's content (cached: models repeat the same answers)."""
    predicted = parse(f"\\boxed{{{content}}}", extraction_config=_BOXED_ONLY, parsing_timeout=_timeout(5))
    if not predicted:
        return False
    return bool(verify(list(parse_gold(gold)), predicted, timeout_seconds=_timeout(5)))


def math_equal(gold: str, content: str) -> bool:
    """Whether a (normalised) answer equals the gold answer."""
    gold = normalize_answer(gold)
    bare = _EQUATION_LHS.sub("", content).strip()
    if content == gold or bare == gold:
        return True
    if _INTEGER.fullmatch(bare) and _INTEGER.fullmatch(gold):
        return int(bare) == int(gold)
    return _verify_box(gold, content)


def extract_answer(response: str, require_boxed: bool = True) -> list[Any]:
    """math-verify's parse of the response's answer, the last box only ([] when there is none)."""
    content = last_boxed(response)
    if content is not None:
        return parse(f"\\boxed{{{content}}}", extraction_config=_BOXED_ONLY, parsing_timeout=_timeout(5))
    if require_boxed:
        return []
    return parse(normalize_answer(response), extraction_config=_ANY_ANSWER, parsing_timeout=_timeout(5))


def answer_string(parsed: list[Any]) -> str | None:
    """The extracted answer as text (math-verify returns [expr, source string])."""
    if not parsed:
        return None
    return str(parsed[-1])


def grade_math(gold: str, response: str, require_boxed: bool = True) -> tuple[str | None, bool]:
    content = last_boxed(response)
    if content is not None:
        return content, math_equal(gold, content)
    if require_boxed:
        return None, False
    parsed = parse(normalize_answer(response), extraction_config=_ANY_ANSWER, parsing_timeout=_timeout(5))
    if not parsed:
        return None, False
    return answer_string(parsed), bool(verify(list(parse_gold(gold)), parsed, timeout_seconds=_timeout(5)))


# ------------------------------------------------------------------------------------------
# Multiple choice
# ------------------------------------------------------------------------------------------

#: Cyrillic and Greek capitals (and Cyrillic lowercase) that look like Latin option letters.
_LOOKALIKES = str.maketrans(
    {
        "А": "A",
        "В": "B",
        "С": "C",
        "Е": "E",
        "Н": "H",
        "І": "I",
        "Ј": "J",
        "а": "a",
        "в": "b",
        "с": "c",
        "е": "e",
        "і": "i",
        "ј": "j",
        "Α": "A",
        "Β": "B",
        "Ε": "E",
        "Ζ": "Z",
        "Η": "H",
        "Ι": "I",
        "Κ": "K",
        "Ϲ": "C",
    }
)
_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mathit|operatorname|mbox)\s*\{([^{}]*)\}")
_MATH_DELIMITERS = re.compile(r"\$|\\\(|\\\)|\\\[|\\\]|\*\*")
_SINGLE_OPTION = re.compile(r"^[(\[]?\s*([A-Za-z])\s*[)\].:]?$")
# An option letter with its delimiter, then the option's text: "A) 3.5 mol", "(B) vanadium".
_OPTION_WITH_TEXT = re.compile(r"^(?:[(\[]\s*([A-Za-z])\s*[)\]]|([A-Za-z])\s*[).:])\s*(\S.*)$", re.DOTALL)
_LETTER_LIST = re.compile(r"^(?:,|;|/|or|and|o|ou|oder|или|или же|或|或者|y|et|und|na|au)?\s*[(\[]?[A-J](?![A-Za-z])")
_OPTION_TOKEN = re.compile(r"(?<![A-Za-z])[A-Z](?![A-Za-z])")

# "The answer is (B)" in the study languages (used only when boxes are not required).
_ANSWER_PHRASE = re.compile(
    r"(?:answer(?:\s+is)?|correct\s+(?:option|choice)(?:\s+is)?|option\s+is|respuesta(?:\s+(?:correcta\s+)?es)?|"
    r"réponse(?:\s+(?:correcte\s+)?est)?|reponse(?:\s+est)?|antwort(?:\s+ist)?|ответ(?:\s+—|\s+-)?|"
    r"правильный\s+ответ|答案(?:是|为|為)?|答えは|答え|正解は|正解|คำตอบ(?:คือ|ที่ถูกต้องคือ)?|"
    r"jibu(?:\s+sahihi)?(?:\s+ni)?|উত্তর(?:\s+হল|\s+হলো|\s+হচ্ছে)?|సమాధానం|జవాబు)"
    r"\s*[:：]?\s*(?:\*\*)?\s*(?:option\s+|opción\s+|l'option\s+|option\s+|вариант\s+|选项|選択肢)?"
    # a capital letter, or a lowercase one only in parentheses ("the answer is a prime" names no option)
    r"(?:[(\[（]\s*([A-JＡ-Ｊa-jａ-ｊАВСЕНІЈавсеΑΒΕΗΙ])\s*[)\]）]|(?-i:([A-JＡ-ＪАВСЕНІЈΑΒΕΗΙ]))(?![A-Za-zА-Яа-я]))",
    re.IGNORECASE,
)


def _plain_option_text(text: str) -> str:
    text = normalize_answer(text).translate(_LOOKALIKES)
    for _ in range(3):  # \text{\textbf{A}}
        text = _TEXT_WRAPPER.sub(r"\1", text)
    return _MATH_DELIMITERS.sub(" ", text).strip()


def choice_letter(text: str, n_choices: int = 4) -> str | None:
    """The one option letter `text` (a box's content or a gold answer) names, else None.

    ``A`` / ``(A)`` / ``A)`` / ``A.`` / ``A) option text`` / ``\\text{A}`` / ``a`` / ``Ａ`` /
    Cyrillic ``А`` all name A; text naming several distinct letters (``A, B``; ``A or D``) or a
    letter outside the first `n_choices` names none.
    """
    allowed = LETTERS[:n_choices]
    plain = _plain_option_text(text)
    if single := _SINGLE_OPTION.match(plain):
        letter = single.group(1).upper()
    elif (with_text := _OPTION_WITH_TEXT.match(plain)) and not _LETTER_LIST.match(with_text.group(3)):
        letter = (with_text.group(1) or with_text.group(2)).upper()
    else:
        named = set(_OPTION_TOKEN.findall(plain)) & set(allowed)
        letter = named.pop() if len(named) == 1 else None
    return letter if letter is not None and letter in allowed else None


def gold_letter(gold: str, n_choices: int) -> str:
    """The gold option letter; a gold no reader could parse raises instead of scoring every response 0."""
    content = last_boxed(gold)
    letter = choice_letter(content if content is not None else gold, n_choices)
    if letter is None:
        raise ValueError(f"gold answer {gold!r} names no option letter among {LETTERS[:n_choices]}")
    return letter


def unboxed_choice(response: str, n_choices: int) -> str | None:
    """The letter of the last "the answer is (B)"-style phrase (any study language)."""
    matches = list(_ANSWER_PHRASE.finditer(response))
    if not matches:
        return None
    return choice_letter(matches[-1].group(1) or matches[-1].group(2), n_choices)


def grade_choice(gold: str, response: str, n_choices: int = 4, require_boxed: bool = True) -> tuple[str | None, bool]:
    """Multiple choice: the option letter of the last box (or answer phrase) against the gold letter."""
    expected = gold_letter(gold, n_choices)
    content = last_boxed(response)
    if content is not None:
        letter = choice_letter(content, n_choices)
    elif require_boxed:
        return None, False
    else:
        letter = unboxed_choice(response, n_choices)
    return letter, letter == expected


def grade(gold: str, response: str, require_boxed: bool = True, n_choices: int = 0) -> tuple[str | None, bool]:
    """(extracted answer or None, whether it equals the gold answer).

    `n_choices` > 0 grades a multiple-choice item by its option letter.
    """
    if n_choices:
        return grade_choice(gold, response, n_choices, require_boxed)
    return grade_math(gold, response, require_boxed)


def is_correct(gold: str, response: str, require_boxed: bool = True, n_choices: int = 0) -> bool:
    return grade(gold, response, require_boxed, n_choices)[1]
