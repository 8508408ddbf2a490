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
* **Math answers are read in their surface form first** (:func:`math_candidates`), then
  math-verify judges: a number followed by a counter or unit word in any script (``204个``,
  ``204 通り``, ``204 นาที``, ``204 দিন``), a trailing full stop (``204.``), a trailing
  ``\\pmod{1000}``, digits grouped by ``\\,``, a space, a no-break or narrow space, and the
  decimal comma of the languages that write one (``0,5`` in es/fr/de/ru) read as that number.
  A tail that qualifies the number (``204 or more``, ``204以上``) or a second number is not a unit.
* **Multiple choice is graded by the option letter** (:func:`choice_letter`): ``A``, ``(A)``,
  ``A)``, ``A.``, ``A) option text`` (whatever that text holds), ``\\text{A}``, lowercase,
  full-width and Cyrillic/Greek look-alike capitals all read as ``A``; a box holding exactly
  one option's text (normalised) reads as that option's letter. A letter inside a word or after
  a number (``D-glucose``, ``4 A``) is not an option; several distinct letters are no answer.
* With ``require_boxed: false`` an unboxed answer is taken from an "answer is (B)"-style phrase
  in any study language or a later letter-first conclusion ("**B. …** the correct answer")
  (multiple choice) or math-verify's own anchors (math; English-only,
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
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

from pscale.config import validate_options
from pscale.languages import cjk_integer, digit_table
from pscale.prompts import LETTERS


@dataclass(frozen=True)
class ScoringSettings:
    """The `scoring` config section: what a grade and a language share mean. Here, with the
    grader, because the GRPO rewards read it too: the training code reaches this module, not
    `pscale.score` (whose speed settings cannot change a trained model)."""

    require_boxed: bool
    min_letters: int

    @classmethod
    def from_config(cls, options: Mapping[str, Any] | None = None) -> ScoringSettings:
        """From (part of) the `scoring` section, validated; keys left out take the schema's defaults."""
        filled = validate_options(options or {}, "/properties/scoring")
        return cls(**{f.name: filled[f.name] for f in fields(cls)})


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
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_EQUATION_LHS = re.compile(r"^[a-zA-Z]\s*=\s*")

#: Study languages that write a decimal comma (0,5) and group thousands with a point or space.
DECIMAL_COMMA_LANGUAGES = frozenset({"es", "fr", "de", "ru"})

_WRAPPED = re.compile(r"^\\(?:text|textrm|textup|mathrm|mbox)\s*\{([^{}]*)\}$")
_UNIT_WRAPPER = re.compile(r"\\(?:text|textrm|textup|mathrm|mbox|operatorname)\s*\{([^{}]*)\}")
_LATEX_SPACE = re.compile(r"\\[,;:! ]|~|\\quad|\\qquad")
# A trailing modulus: 204 \pmod{1000}, 204 \pmod 1000, 204 (\bmod 1000), 204 \mod 1000, 204 (mod 1000).
_MODULUS = re.compile(
    r"(?:\s|\\[,;: ]|\\q?quad|~)*(?:\\pmod\s*(?:\{[^{}]*\}|\d+)"
    r"|\(\s*(?:\\bmod|\\mod|\\text\{\s*mod\s*\}|mod)\s*\{?\s*\d+\s*\}?\s*\)"
    r"|\\(?:bmod|mod)\s*\{?\s*\d+\s*\}?)\s*$"
)
_CONGRUENT_LHS = re.compile(r"^[a-zA-Z]\s*\\equiv\s*")
# One trailing full stop (Latin, CJK, Devanagari/Bengali danda), never the last dot of "...".
_FULL_STOP = re.compile(r"(?<![.])[.\u3002\uff0e\u0964]\s*$")
# A number: digit groups of three joined by one separator used throughout, then a decimal part.
_GROUP_SEPARATORS = r"\\,|\\ |\\;|\\:|~|\{,\}|[ \u00a0\u2009\u202f,.']"
_NUMBER = re.compile(
    rf"(?P<sign>[-+]?)(?:(?P<head>\d{{1,3}})(?P<sep>{_GROUP_SEPARATORS})(?P<groups>\d{{3}}(?:(?P=sep)\d{{3}})*)(?!\d)|(?P<plain>\d+))"
    r"(?:(?P<dec>\.|,|\{,\})(?P<frac>\d+))?"
)
#: Words that qualify a number or join two (a hedge, a range, a bound), never a counter or unit.
_QUALIFIERS = frozenset(
    "or and to than more less least most about approximately approx nearly either nor plus minus "
    "o y u ni más menos entre ou et plus moins environ oder und bis mehr weniger etwa ungefähr "
    "или и либо до больше меньше около примерно au na hadi zaidi takriban বা অথবা ও এবং থেকে প্রায় "
    "లేదా మరియు నుండి సుమారు".split()
)
#: Pieces that qualify a number inside a word of a script written without spaces (zh, ja, th).
_QUALIFIER_PIECES = frozenset(
    "或 和 到 至 以上 以下 左右 约 約 多 未満 前後 または 又は ほど くらい ぐらい "
    "หรือ และ ถึง มากกว่า น้อยกว่า ประมาณ อย่างน้อย".split()
)
_UNIT_EXTRAS = frozenset("/·.°'’-µΩ%$")
_POWER = re.compile(r"\s*\^\s*\{?-?\d+\}?|[²³]")
_MAX_UNIT_WORDS = 3


def _is_unit_word(word: str) -> bool:
    """A counter or unit: letters (and marks) of any script, with a power or a slash; no number."""
    if not word or word.casefold() in _QUALIFIERS or any(piece in word for piece in _QUALIFIER_PIECES):
        return False
    if word.isascii() and "%" not in word and sum(char.isalpha() for char in word) < 2:
        return False  # 2x, 3 n: a variable, not a unit
    letters = 0
    for char in word:
        if char.isalpha():
            letters += 1
        elif unicodedata.category(char) not in ("Mn", "Mc", "Sc") and char not in _UNIT_EXTRAS:
            return False
    return letters > 0 or all(unicodedata.category(char) == "Sc" or char in _UNIT_EXTRAS for char in word)


def _is_unit_tail(tail: str) -> bool:
    tail = _POWER.sub("", _LATEX_SPACE.sub(" ", _UNIT_WRAPPER.sub(r" \1 ", tail)))
    words = tail.replace("\\%", "%").replace("\\$", "$").split()
    return 0 < len(words) <= _MAX_UNIT_WORDS and all(_is_unit_word(word) for word in words)


def _readings(match: re.Match[str], lang: str) -> list[str]:
    """The values a number can mean in `lang`: one, or two when the separator is ambiguous there."""
    sign, dec, frac = match["sign"] if match["sign"] == "-" else "", match["dec"], match["frac"]
    if match["plain"] is not None:
        if dec is None:
            return [sign + match["plain"]]
        if dec == "." or lang in DECIMAL_COMMA_LANGUAGES:
            return [f"{sign}{match['plain']}.{frac}"]
        return []  # 0,5 in a decimal-point language: two numbers, not one
    head, sep, groups = match["head"], match["sep"], match["groups"]
    grouped, bare_sep = sign + head + groups.replace(sep, ""), sep.strip("{}")
    if dec is not None:
        if dec.strip("{}") == bare_sep or (dec != "." and lang not in DECIMAL_COMMA_LANGUAGES):
            return []  # 1.000.5; 1 000,5 in English: not one number
        return [f"{grouped}.{frac}"]
    if bare_sep not in (",", "."):
        return [grouped]  # 1 000, 1\\,000, 1 000: grouping in every language
    if len(groups) > 3:
        return [grouped] if head != "0" else []  # 1,000,000 / 1.000.000
    as_decimal = f"{sign}{head}.{groups}"
    if lang in DECIMAL_COMMA_LANGUAGES:
        # 1,000 or 1.000 in German: the comma is the decimal sign and the point groups, but
        # English habits leak into every language, so both readings count (0,125 is a decimal).
        return [as_decimal] if head == "0" else [as_decimal, grouped]
    if bare_sep == ".":
        return [as_decimal]
    return [grouped] if head != "0" else []


def _plain_number(content: str, lang: str) -> bool:
    """An integer, or a decimal with a point where a point can only be the decimal sign."""
    return bool(
        _INTEGER.fullmatch(content) or (lang not in DECIMAL_COMMA_LANGUAGES and _PLAIN_NUMBER.fullmatch(content))
    )


@functools.lru_cache(maxsize=262144)
def math_candidates(content: str, lang: str = "en") -> tuple[str, ...]:
    """What a box's (normalised) content can mean, in its surface form, before math-verify.

    Returns the content itself when no surface rule applies, else the number(s) it writes and
    then the content (what math-verify accepted before still counts): ``204个`` -> ``("204",
    "204个")``; ``0,5`` in French -> ``("0.5", "0,5")``; ``1,000`` in English -> ``("1000",
    "1,000")``, in German ``("1.000", "1000", "1,000")`` (the decimal comma or an English habit).
    A hedge, a second number or a qualifier after the number leaves the content as it is.
    """
    if _plain_number(content, lang):
        return (content,)  # the common case, read as it is
    text = content.strip()
    if wrapped := _WRAPPED.match(text):
        text = wrapped.group(1).strip()
    text = _EQUATION_LHS.sub("", text)
    if _MODULUS.search(text):
        text = _CONGRUENT_LHS.sub("", _MODULUS.sub("", text))
    text = _FULL_STOP.sub("", text).strip()
    bare = (text, content) if text and text != content else (content,)
    match = _NUMBER.match(text)
    if match is None:
        return bare  # \frac{1}{2}. -> \frac{1}{2}, for math-verify
    tail = text[match.end() :]
    if tail.strip() and not _is_unit_tail(tail):
        return bare
    readings = _readings(match, lang)
    if not readings:
        return bare
    return tuple(readings) if content in readings else (*readings, content)


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


def _equal(gold: str, content: str) -> bool:
    bare = _EQUATION_LHS.sub("", content).strip()
    if content == gold or bare == gold:
        return True
    if _INTEGER.fullmatch(bare) and _INTEGER.fullmatch(gold):
        return int(bare) == int(gold)
    return _verify_box(gold, content)


def math_equal(gold: str, content: str, lang: str = "en") -> bool:
    """Whether a (normalised) answer, written in query language `lang`, equals the gold answer."""
    gold = normalize_answer(gold)
    if _plain_number(content, lang):  # the common case: no surface form to read
        return _equal(gold, content)
    return any(_equal(gold, candidate) for candidate in math_candidates(content, lang))


def answer_string(parsed: list[Any]) -> str | None:
    """The extracted answer as text (math-verify returns [expr, source string])."""
    if not parsed:
        return None
    return str(parsed[-1])


def grade_math(gold: str, response: str, require_boxed: bool = True, lang: str = "en") -> tuple[str | None, bool]:
    """Math: the last box's content (read in `lang`'s number conventions) against the gold answer."""
    content = last_boxed(response)
    if content is not None:
        return content, math_equal(gold, content, lang)
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
# A capital letter, a space, then text: graded only when the text is that option's own text.
_LETTER_THEN_TEXT = re.compile(r"^([A-Z])\s+(\S.*)$", re.DOTALL)
_CONJUNCTIONS = r"(?i:or|and|o|ou|oder|или|и|либо|或|或者|和|y|et|und|na|au|หรือ|และ|または|か|বা|অথবা|ও|లేదా|మరియు)"
# What follows "A)" when the box names a second option: "A) or D)", "A) (C)", "A. B" (a hedge).
# "D) A = methyl ..." or "B) C2v" is option text: the letter there is not followed by a delimiter.
_SECOND_LETTER = re.compile(
    rf"^(?:(?:,|;|/|&|\\&|{_CONJUNCTIONS})\s*)?[(\[]?\s*[A-J]\s*(?:[)\].:,;/]|$|\s+{_CONJUNCTIONS}(?!\w))"
)
# "Option B", "the answer is (B)", "вариант B", "选项B" inside a box.
_OPTION_WORD = re.compile(
    r"^(?i:(?:the\s+)?(?:correct\s+)?(?:answer|option|choice)(?:\s+is)?|(?:la\s+)?(?:respuesta|opción|opcion)(?:\s+es)?"
    r"|(?:la\s+|l')?(?:réponse|option)(?:\s+est)?|(?:die\s+)?(?:antwort|option)(?:\s+ist)?|вариант|ответ|"
    r"选项|選項|答案|選択肢|答え|正解|ตัวเลือก|คำตอบ|chaguo|jibu|বিকল্প|উত্তর|ఎంపిక|సమాధానం|జవాబు)"
    r"\s*[:：\-—]?\s*(?=[(\[]?\s*[A-Za-zАВСЕНІЈавсеΑΒΕΗΙΚΖϹ](?![A-Za-zА-Яа-я]))"
)
_OPTION_KEY_DROP = re.compile(r"\\(?:text\w*|math\w+|operatorname|mbox)\b|\\[,;:! ]|~|\\left|\\right|[{}_\s]")


def _option_key(text: str) -> str:
    """An option text compared as written: LaTeX wrappers, spacing, braces and a final stop left out."""
    return _OPTION_KEY_DROP.sub("", _plain_option_text(text)).rstrip(".。")


@functools.lru_cache(maxsize=65536)
def _option_keys(choices: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_option_key(choice) for choice in choices)


def _by_option_text(text: str, keys: tuple[str, ...]) -> str | None:
    """The letter of the one option whose text `text` is (None for none, or for several).

    Case counts first (``l^2`` and ``L^2``, ``Co`` and ``CO`` are different options); only when
    no option matches with its case does one that matches without it count.
    """
    key = _option_key(text)
    for fold in (False, True):
        wanted = key.casefold() if fold else key
        found = [
            LETTERS[i] for i, option in enumerate(keys) if option and (option.casefold() if fold else option) == wanted
        ]
        if found:
            return found[0] if len(found) == 1 else None
    return None


def _letter_form(plain: str, keys: tuple[str, ...]) -> str | None:
    """The letter a box written as a letter form names: A / (A) / A) text / A text-of-A."""
    if single := _SINGLE_OPTION.match(plain):
        return single.group(1).upper()
    if with_text := _OPTION_WITH_TEXT.match(plain):
        letter, rest = (with_text.group(1) or with_text.group(2)).upper(), with_text.group(3)
        if keys:
            named = _by_option_text(rest, keys)
            if named is not None:  # "B) <text of B>" is B; "B) <text of C>" contradicts itself
                return named if named == letter else None
        return None if _SECOND_LETTER.match(rest) else letter
    if keys and (spaced := _LETTER_THEN_TEXT.match(plain)):
        letter = spaced.group(1)
        return letter if _by_option_text(spaced.group(2), keys) == letter else None
    return None


def choice_letter(text: str, n_choices: int = 4, choices: tuple[str, ...] | list[str] | None = None) -> str | None:
    """The one option letter `text` (a box's content or a gold answer) names, else None.

    ``A`` / ``(A)`` / ``A)`` / ``A.`` / ``A: text`` / ``A) option text`` (whatever the text holds) /
    ``\\text{A}`` / ``a`` / ``Ａ`` / Cyrillic ``А`` / ``Option A`` all name A. With the option
    texts (`choices`, as the prompt showed them) a box holding one option's text names that
    option, and ``A <text of A>`` names A. A letter inside a word or after a number
    (``D-glucose``, ``4 A``, ``5.2\\times10^{-3} C``), several letters (``A, B``; ``A) or D)``)
    and a letter outside the first `n_choices` name none.
    """
    return _choice_letter(text, n_choices, tuple(choices) if choices else None)


@functools.lru_cache(maxsize=262144)
def _choice_letter(text: str, n_choices: int, choices: tuple[str, ...] | None) -> str | None:
    """choice_letter with the option texts as a tuple (cached: models repeat the same answers)."""
    allowed = LETTERS[:n_choices]
    keys = _option_keys(choices[:n_choices]) if choices else ()
    plain = _plain_option_text(text, lookalikes=False)
    if worded := _OPTION_WORD.match(plain):
        plain = plain[worded.end() :]
    plain = plain.translate(_LOOKALIKES)
    letter = _letter_form(plain, keys)
    if (letter is None or letter not in allowed) and keys:  # "(S)-2-...", "i) HNO3 ...": option text
        letter = _by_option_text(plain, keys)
    return letter if letter is not None and letter in allowed else None


@functools.lru_cache(maxsize=65536)
def gold_letter(gold: str, n_choices: int) -> str:
    """The gold option letter; a gold no reader could parse raises instead of scoring every response 0."""
    content = last_boxed(gold)
    letter = choice_letter(content if content is not None else gold, n_choices)
    if letter is None:
        raise ValueError(f"gold answer {gold!r} names no option letter among {LETTERS[:n_choices]}")
    return letter


# "The answer is (B)" in the study languages (used only when boxes are not required).
_ANSWER_PHRASE = re.compile(
    r"(?:answer(?:\s+is)?|correct\s+(?:option|choice)(?:\s+is)?|option\s+is|respuesta(?:\s+(?:correcta\s+)?es)?|"
    r"réponse(?:\s+(?:correcte\s+)?est)?|reponse(?:\s+est)?|antwort(?:\s+ist)?|ответ(?:\s+—|\s+-)?|"
    r"правильный\s+ответ|答案(?:是|为|為)?|答えは|答え|正解は|正解|คำตอบ(?:คือ|ที่ถูกต้องคือ)?|"
    r"jibu(?:\s+sahihi)?(?:\s+ni)?|উত্তর(?:\s+হল|\s+হলো|\s+হচ্ছে)?|సమాధానం|జవాబు)"
    r"(?:\*\*|__)?\s*[:：]?\s*(?:\*\*)?\s*(?:option\s+|opción\s+|l'option\s+|option\s+|вариант\s+|选项|選択肢)?"
    r"(?:\$?\\(?:textbf|mathbf|text|mathrm)\s*\{\s*)?"  # "the answer is \textbf{D}"
    # a capital letter, or a lowercase one only in parentheses ("the answer is a prime" names no option)
    r"(?:[(\[（]\s*([A-JＡ-Ｊa-jａ-ｊАВСЕНІЈавсеΑΒΕΗΙ])\s*[)\]）]|(?-i:([A-JＡ-ＪАВСЕНІЈΑΒΕΗΙ]))(?![A-Za-zА-Яа-я]))",
    re.IGNORECASE,
)


# The letter first, the phrase after: "**B. kilimo** the correct answer", "(Option B) is the best
# choice", "C est la bonne réponse". The rare phrase is searched first and the letter just before
# it (fast on long responses). Option text may follow the letter only after ")", "." or ":", so a
# word ("I think the correct answer ...") is never read as a letter; a question names nothing.
_CONCLUSION_PHRASE = re.compile(
    r"(?:correct|right|best|most\s+(?:appropriate|accurate|plausible))\s+(?:answer|choice|option)(?!\s*\?)|"
    r"es\s+la\s+respuesta\s+correcta|est\s+la\s+bonne\s+réponse|ist\s+die\s+richtige\s+antwort",
    re.IGNORECASE,
)
_LETTER_BEFORE_PHRASE = re.compile(
    r"(?<![A-Za-z0-9])(?:option\s+|opción\s+|l'option\s+)?(?-i:([A-J]))(?:[).:][^\n*]{0,100}?)?(?:\*\*|__)?\)?"
    r"\s*,?\s*(?:(?:is|as|makes?\s+it|which\s+is)\s+)?(?:the\s+)?\Z",
    re.IGNORECASE,
)


def _letter_then_phrase(response: str, start: int = 0) -> tuple[int, str] | None:
    """(end, letter) of the last "B is the correct answer"-style conclusion whose phrase starts at or
    after `start`, None if there is none."""
    for phrase in reversed(list(_CONCLUSION_PHRASE.finditer(response, start))):
        found = _LETTER_BEFORE_PHRASE.search(response, max(0, phrase.start() - 140), phrase.start())
        if found:
            return phrase.end(), found.group(1)
    return None


# The first word of every _ANSWER_PHRASE, lowercase: found in the lowercased response, then the
# full phrase is tried from the last one back (a case-sensitive scan is several times faster).
_PHRASE_START = re.compile(
    r"answer|correct|option|respuesta|r[ée]ponse|antwort|ответ|правильный|答案|答え|正解|คำตอบ|jibu|উত্তর|సమాధానం|జవాబు"
)


def _last_answer_phrase(response: str) -> re.Match[str] | None:
    """The last "the answer is (B)"-style phrase in `response`, None if there is none."""
    lower = response.lower()
    if len(lower) != len(response):  # a letter whose lowercase is longer: positions would shift
        matches = list(_ANSWER_PHRASE.finditer(response))
        return matches[-1] if matches else None
    for start in reversed(list(_PHRASE_START.finditer(lower))):
        match = _ANSWER_PHRASE.match(response, start.start())
        if match:
            return match
    return None


def _plain_option_text(text: str, lookalikes: bool = True) -> str:
    text = normalize_answer(text)
    if lookalikes:
        text = text.translate(_LOOKALIKES)
    for _ in range(3):  # \text{\textbf{A}}
        text = _TEXT_WRAPPER.sub(r"\1", text)
    return _MATH_DELIMITERS.sub(" ", text).strip()


def unboxed_choice(response: str, n_choices: int) -> str | None:
    """The letter of the last "the answer is (B)"-style phrase (any study language), or of the
    last "B is the correct answer" one when that comes later (a conclusion after the reasoning)."""
    phrase = _last_answer_phrase(response)
    last = (phrase.end(), phrase.group(1) or phrase.group(2)) if phrase else None
    conclusion = _letter_then_phrase(response, phrase.start() if phrase else 0)  # only a later one counts
    if conclusion is not None and (last is None or conclusion[0] > last[0]):
        last = conclusion
    return None if last is None else choice_letter(last[1], n_choices)


def grade_choice(
    gold: str,
    response: str,
    n_choices: int = 4,
    require_boxed: bool = True,
    choices: tuple[str, ...] | list[str] | None = None,
) -> tuple[str | None, bool]:
    """Multiple choice: the option letter of the last box (or answer phrase) against the gold letter.

    `choices`: the option texts the prompt showed, so that a box holding an option's text counts.
    """
    expected = gold_letter(gold, n_choices)
    content = last_boxed(response)
    if content is not None:
        letter = choice_letter(content, n_choices, choices)
    elif require_boxed:
        return None, False
    else:
        letter = unboxed_choice(response, n_choices)
    return letter, letter == expected


def grade(
    gold: str,
    response: str,
    require_boxed: bool = True,
    n_choices: int = 0,
    lang: str = "en",
    choices: tuple[str, ...] | list[str] | None = None,
) -> tuple[str | None, bool]:
    """(extracted answer or None, whether it equals the gold answer).

    `n_choices` > 0 grades a multiple-choice item by its option letter (`choices`: the option
    texts as the prompt showed them, or None); `lang` is the query language, whose number
    conventions (decimal comma) a math answer is read in.
    """
    if n_choices:
        return grade_choice(gold, response, n_choices, require_boxed, choices)
    return grade_math(gold, response, require_boxed, lang)


def is_correct(
    gold: str,
    response: str,
    require_boxed: bool = True,
    n_choices: int = 0,
    lang: str = "en",
    choices: tuple[str, ...] | list[str] | None = None,
) -> bool:
    return grade(gold, response, require_boxed, n_choices, lang, choices)[1]
