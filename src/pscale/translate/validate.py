"""Checks every machine translation must pass before it is used.

The paper describes no quality control for its GPT-4o-mini translations. These checks are
cheap, offline and deterministic (a cached translation is re-checked on every run, so
tightening a bound never needs a request). They must be fair to good translations (a false
alarm fails the stage or drops an item from every language) and still catch real defects:

Developed on real human translations (tests/data/real_corpus: MGSM, PolyMath, XReasoning AIME and
GPQA, MMATH), not only on probes: verbatim non-prose (formulas, chemical names, SMILES,
sequences, code, numbers) is never a leak and does not count against the target language.

* wrapper / refusal, judged by position and form: a short "...translation:" lead, a note line, a
  parenthesised note at the end, quotes around the whole output, a code block, and a preface,
  heading or instruction about translating in any study language in the opening paragraph;
* leak: the translation instructions, or a sentence of English prose from the original;
* language: at least half of the output's own letters (figure code and words copied from the
  source left out) in the target language (pscale.languages shares);
* figure: [asy] / TikZ code kept (the words of labels and comments may be translated);
* numbers: each source number found under one of the readings a translation may write
  (grouping, decimal comma, trailing zeros, scripts, CJK numerals and myriads); clock times,
  list enumerators, chemical locants and numbers inside words are not required;
* formula: chemical formulas kept, or written as the compound's name;
* latex: every LaTeX command (aliases and Unicode symbols merged) and the commands, numbers and
  names of every math segment, however re-spaced, re-delimited or punctuated;
* truncated: cut at max_tokens, or ending inside a figure / environment / display math;
* a script-aware length ratio.

A failure is a one-line reason that is shown to the model on retry and written to the QC
table: its first word (before ':') is the machine-readable code, and it quotes the offending
span. Rates: benchmarks/validator_real.py (real corpus) and benchmarks/validator_probes.py
(regression probes); numbers in the README.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pscale.config import validate_options
from pscale.languages import (
    CJK_LARGE_UNITS,
    LANGUAGE_NAMES,
    ascii_digits,
    cjk_integer,
    detect_language,
    dominant_language,
    language_shares,
    strip_non_language,
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


# ------------------------------------------------------------------------------------------
# Numbers
# ------------------------------------------------------------------------------------------

# A number: digits with optional grouping (a separator followed by exactly three digits: 1,000 /
# 1.000 / 1 000 / 1'000) and an optional decimal part; ".75" is a number too. Digits of any script
# count (some models write Bengali or Thai digits), and superscript / subscript digit runs are
# separate numbers (cm³ for cm^3).
_GROUPING = r"(?:[,.'\u00a0\u202f\u2009]|(?<=\d) (?=\d{3}(?!\d)))\d{3}(?!\d)"
_NUMBER = re.compile(rf"(?:(?<![\w.,])(?=[.,]\d)|(?<!\d)(?=\d))\d*(?:{_GROUPING})*(?:[.,]\d+)?")
# In the English source a comma never starts a decimal part ("(1,5)" is two numbers).
_SOURCE_NUMBER = re.compile(rf"(?:(?<![\w.,])(?=\.\d)|(?<!\d)(?=\d))\d*(?:{_GROUPING})*(?:\.\d+)?")
_SCRIPT_DIGITS = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉]+")
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉⁰¹²³⁴⁵⁶⁷⁸⁹", "01234567890123456789")
_NON_ASCII_DIGIT = re.compile(r"(?![0-9])\d")
# A number that is part of a word ("3-dimensional", "2-digit"): a language may write it as a word.
_NUMBER_IN_WORD = re.compile(r"(?<![\d.,])(\d+)-(?=[^\W\d_]{3,})")
# Locants of a chemical name ("cyclohex-1-en-1-yl", "2-(tert-butyl)", "1,2-dione") and a digit as a
# noun ("1's"): a translation may write the name in its own language, where locants move.
_LOCANTS = re.compile(
    r"(?:(?<=[A-Za-z]{2}-)|(?<=[)\]]-))\d+(?:,\d+'*)*(?=-|\b)|(?<![\d.,])\d+(?:,\d+'*)*(?=-[A-Za-z(\[])|\d+(?='s\b)"
)
# A clock time ("1:00 PM", "5 pm"): a translation may write it on the 24-hour clock (13 h).
_CLOCK_TIME = re.compile(r"\b\d{1,2}(?::\d{2})?\s*(?:[ap]\.?\s?m\.?|AM|PM)(?![a-z])", re.IGNORECASE)
# A list item's number at the start of a line ("3. O3/H2O", "2) ..."): a translator may renumber a list.
_ENUMERATOR = re.compile(r"^(\s*)\(?\d{1,2}[.)](?=\s)", re.MULTILINE)
# Chinese / Japanese numerals and myriads (8万 = 80000, 四 = 4).
# A numeral counts only before a counter or unit (四周 = 4 weeks); 三角形 (triangle) is not 3.
_CJK_NUMERAL = re.compile(
    r"[〇零一二两兩三四五六七八九十百千]+(?=[个個人本枚匹头頭台回次度倍周週日天年月时時分秒岁歳元円块塊张張条條只件杯名位打盒箱袋瓶]"
    r"|ドル|美元|つ|か月|ヶ月|時間|小时|分钟|キロ|公里|米|メートル)"
)
_PLAIN_NUMBER = re.compile(r"(?<!\d)\d+(?:[.,]\d+)?")
_MYRIAD_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s?([万萬亿億])")


def _ascii_numbers(text: str) -> str:
    """Super/subscript digit runs as separate ASCII numbers, then every script's digits in ASCII."""
    text = _SCRIPT_DIGITS.sub(lambda m: " " + "".join(str(unicodedata.digit(c)) for c in m.group()), text)
    return ascii_digits(text) if _NON_ASCII_DIGIT.search(text) else text


def _canonical(number: str, decimal_comma: bool = True) -> str:
    """One written number as ASCII without grouping, trailing decimal zeros or leading zeros
    ("5.00" -> 5, ".75" and "0,75" -> 0.75, "1 000" -> 1000); a comma starts a decimal part
    only with `decimal_comma` (a translation; in an English source it groups or lists)."""
    number = number.replace("\u00a0", " ").replace("\u202f", " ").replace("\u2009", " ")
    decimal = re.search(r"[.,](\d+)$" if decimal_comma else r"\.(\d+)$", number)
    leading_zero = re.match(r"0?[.,]\d+$", number) is not None  # 0,128 / .128 are decimals, not groups
    if decimal and (len(decimal.group(1)) != 3 or leading_zero):
        whole, fraction = number[: decimal.start()], decimal.group(1)
    else:
        whole, fraction = number, ""
    integer = re.sub(r"\D", "", whole).lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    return integer + ("." + fraction if fraction else "")


def _source_numbers(text: str) -> Counter[str]:
    """The numbers an English source asks to keep: clock times and number-words left out."""
    text = _ENUMERATOR.sub(" ", _CLOCK_TIME.sub(" ", _ascii_numbers(text)))
    found = Counter(_canonical(m.group(), False) for m in _SOURCE_NUMBER.finditer(text) if m.group())
    locants = Counter(
        _canonical(n, False) for m in _LOCANTS.finditer(text) for n in m.group().replace("'", "").split(",")
    )
    return found - (numbers_in_words(text) | locants)


def _output_readings(text: str) -> list[Counter[str]]:
    """The numbers of a translation read three ways: grouping-aware ("1 000", "0,75"), plain decimals
    ("0.128,0.2218" is two numbers) and every digit run on its own ("A1 293 K" is not 1293; "8,5"
    holds the 8 of "8 and a half"). Numbers written with CJK numerals or myriads (四, 8万) count in each."""
    text = _ascii_numbers(text)
    extra: Counter[str] = Counter()
    for match in _MYRIAD_NUMBER.finditer(text):
        value = float(match.group(1)) * CJK_LARGE_UNITS[match.group(2)]
        extra[str(int(value)) if value.is_integer() else str(value)] += 1
    for match in _CJK_NUMERAL.finditer(text):
        extra[str(cjk_integer(match.group()))] += 1
    grouped = Counter(_canonical(m.group()) for m in _NUMBER.finditer(text) if m.group())
    plain = Counter(_canonical(m.group()) for m in _PLAIN_NUMBER.finditer(text))
    runs = Counter(run.lstrip("0") or "0" for run in re.findall(r"\d+", text))
    return [grouped + extra, plain + extra, runs + extra]


def _numbers_missing(source: Counter[str], output: str) -> list[str]:
    """Source numbers the translation lacks (each number's count against the best reading)."""
    readings = _output_readings(output)
    return sorted(n for n, count in source.items() for _ in range(count - max(r[n] for r in readings)))


def numbers_in_words(text: str) -> Counter[str]:
    """Numbers written as part of a word ("3-dimensional"): a translation may spell them out."""
    return Counter(_NUMBER_IN_WORD.findall(_ascii_numbers(text)))


# ------------------------------------------------------------------------------------------
# LaTeX, figures, formulas
# ------------------------------------------------------------------------------------------

_LATEX_COMMAND = re.compile(r"\\[a-zA-Z]+")
_MATH_SEGMENT = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_TEXT_ARGUMENT = re.compile(r"\\(?:text|textbf|textit|textrm|textup|mbox|mathrm|operatorname)\s*\{[^{}]*\}")
_PROSE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}\s+[A-Za-z]{2,}\b")
_FIGURE = re.compile(r"\[asy\].*?(?:\[/asy\]|$)|\\begin\{tikzpicture\}.*?(?:\\end\{tikzpicture\}|$)", re.DOTALL)
_QUOTED = re.compile(r"\"[^\"\n]*\"")
_FIGURE_COMMENT = re.compile(r"//[^\n]*|(?<!\\)%[^\n]*")
# A chemical formula: two or more element symbols with a digit or a two-letter symbol (NaOH,
# KMnO4, C8H10); all-capital acronyms (DNA, GGT) are left out.
_FORMULA = re.compile(r"(?<![A-Za-z])(?=[A-Z][a-z]?\d*[A-Z])(?=\S*(?:\d|[A-Z][a-z]))(?:[A-Z][a-z]?\d*){2,}(?![A-Za-z])")
#: Unicode symbols a translator may write for a LaTeX command (≤ for \le, λ for \lambda).
_SYMBOL_COMMANDS = {
    **{
        chr(code): "\\" + unicodedata.name(chr(code)).split()[-1].lower()
        for code in range(0x3B1, 0x3CA)
        if code != 0x3C2
    },
    **{
        chr(code): "\\" + unicodedata.name(chr(code)).split()[-1].capitalize()
        for code in range(0x391, 0x3AA)
        if code != 0x3A2
    },
    "≤": "\\le",
    "≥": "\\ge",
    "≠": "\\ne",
    "×": "\\times",
    "·": "\\cdot",
    "⋅": "\\cdot",
    "∞": "\\infty",
    "°": "\\circ",
    "√": "\\sqrt",
    "→": "\\to",
    "∈": "\\in",
    "±": "\\pm",
    "…": "\\ldots",
    "⋯": "\\ldots",
    "≈": "\\approx",
    "∠": "\\angle",
    "△": "\\triangle",
    "⊥": "\\perp",
    "∥": "\\parallel",
    "∑": "\\sum",
    "∫": "\\int",
    "∪": "\\cup",
    "∩": "\\cap",
    "⊆": "\\subseteq",
    "ℝ": "\\mathbb",
    "ℤ": "\\mathbb",
    "ℕ": "\\mathbb",
}
_SYMBOL = re.compile("|".join(map(re.escape, _SYMBOL_COMMANDS)))
#: Spellings of one command (\leq = \le) and commands that only lay out (\left, \quad, \displaystyle).
_COMMAND_ALIASES = {
    "\\leq": "\\le",
    "\\geq": "\\ge",
    "\\neq": "\\ne",
    "\\dfrac": "\\frac",
    "\\tfrac": "\\frac",
    "\\rightarrow": "\\to",
    "\\cdots": "\\ldots",
    "\\dots": "\\ldots",
    "\\varepsilon": "\\epsilon",
    "\\varphi": "\\phi",
    "\\lvert": "|",
    "\\rvert": "|",
    "\\vert": "|",
    "\\degree": "\\circ",
}
_LAYOUT_COMMANDS = frozenset(
    "\\left \\right \\big \\Big \\bigg \\Bigg \\displaystyle \\textstyle \\quad \\qquad \\text \\textbf \\textit "
    "\\textrm \\textup \\mbox \\mathrm \\operatorname \\hspace \\vspace \\newline \\noindent \\mathbb \\emph "
    "\\allowbreak \\limits \\nolimits".split()
)


def _normalise_latex(text: str) -> str:
    """Unicode symbols as commands, aliases merged, layout commands and \\text{} arguments dropped."""
    text = _TEXT_ARGUMENT.sub(" ", text)
    text = _SYMBOL.sub(lambda m: " " + _SYMBOL_COMMANDS[m.group()] + " ", text)

    def command(match: re.Match[str]) -> str:
        name = _COMMAND_ALIASES.get(match.group(), match.group())
        return " " if name in _LAYOUT_COMMANDS else name + " "

    return _LATEX_COMMAND.sub(command, text)


def latex_of(text: str) -> Counter[str]:
    """Multiset of LaTeX commands, normalised (delimiters are compared as math segments, not counted)."""
    return Counter(c for c in _LATEX_COMMAND.findall(_normalise_latex(_without_figures(text))) if c != "\\mathbb")


def _math_tokens(text: str) -> Counter[str]:
    """The commands, numbers and names of math (what a re-spaced, re-delimited or re-punctuated copy
    keeps): $10^{-9}$ = 10^-9, N{iR} = N_{iR}, \\frac{1}{2} = 1/2; prose words inside math dropped."""
    text = _normalise_latex(_ascii_numbers(text))
    text = re.sub(r"(?<![\\A-Za-z])[A-Za-z]?[a-z]{2,}|[^\x00-\x7f]+", " ", text)
    return Counter(re.findall(r"\\[A-Za-z]+|[A-Za-z0-9]+", re.sub(r"[_^{}]", " ", text)))


def _without_figures(text: str) -> str:
    return _FIGURE.sub(" ", text)


def _figure_code(block: str) -> str:
    """A figure's code without the words of its quoted labels and comments (a translator may translate
    them; a label's numbers stay)."""
    labels = _QUOTED.sub(lambda m: '"' + re.sub(r"\D", "", m.group()) + '"', block)  # a label's digits stay
    return re.sub(r"\s+", "", _FIGURE_COMMENT.sub("", labels))


def _formulas(text: str) -> Counter[str]:
    found = _FORMULA.findall(text.translate(_SUBSCRIPTS))
    # With a digit (KMnO4, C8H10) or a known compound (NaOH): "BC", "GeV", "EtOH" are names and units.
    return Counter(f for f in found if re.search(r"\d", f) or f in COMPOUND_NAMES)


#: Names of common compounds in the study languages (stems, lower case): a formula written as its
#: name (HCl -> 盐酸, NaOH -> hidróxido de sodio) is kept; replaced by a vaguer word ("base"), it is lost.
COMPOUND_NAMES: dict[str, tuple[str, ...]] = {
    "HCl": (
        "hydrochlor",
        "clorhídric",
        "chlorhydrique",
        "salzsäure",
        "chlorwasserstoff",
        "соляная",
        "хлороводород",
        "盐酸",
        "氯化氢",
        "塩酸",
        "塩化水素",
        "ไฮโดรคลอริก",
        "hidrokloriki",
        "হাইড্রোক্লোরিক",
        "హైడ్రోక్లోరిక్",
    ),
    "NaOH": (
        "sodium hydroxide",
        "hydroxyde de sodium",
        "hidróxido de sodio",
        "natriumhydroxid",
        "natronlauge",
        "гидроксид натрия",
        "氢氧化钠",
        "水酸化ナトリウム",
        "โซเดียมไฮดรอกไซด์",
        "hidroksidi ya sodiamu",
        "সোডিয়াম হাইড্রক্সাইড",
        "సోడియం హైడ్రాక్సైడ్",
    ),
    "H2O": ("water", "eau", "agua", "wasser", "вод", "水", "น้ำ", "maji", "জল", "পানি", "నీరు", "నీటి"),
    "H2SO4": (
        "sulfuric",
        "sulfúrico",
        "sulfurique",
        "schwefelsäure",
        "серн",
        "硫酸",
        "ซัลฟิวริก",
        "salfuriki",
        "সালফিউরিক",
        "సల్ఫ్యూరిక్",
    ),
    "NaCl": (
        "sodium chloride",
        "chlorure de sodium",
        "cloruro de sodio",
        "natriumchlorid",
        "хлорид натрия",
        "氯化钠",
        "塩化ナトリウム",
        "โซเดียมคลอไรด์",
        "kloridi ya sodiamu",
        "সোডিয়াম ক্লোরাইড",
        "సోడియం క్లోరైడ్",
    ),
    "CO2": (
        "carbon dioxide",
        "dioxyde de carbone",
        "dióxido de carbono",
        "kohlendioxid",
        "kohlenstoffdioxid",
        "углекисл",
        "диоксид углерода",
        "二氧化碳",
        "二酸化炭素",
        "คาร์บอนไดออกไซด์",
        "kaboni dayoksidi",
        "কার্বন ডাই অক্সাইড",
        "కార్బన్ డయాక్సైడ్",
    ),
    "NH3": (
        "ammonia",
        "ammoniac",
        "amoníaco",
        "ammoniak",
        "аммиак",
        "氨",
        "アンモニア",
        "แอมโมเนีย",
        "amonia",
        "অ্যামোনিয়া",
        "అమ్మోనియా",
    ),
}


def _named(formula: str, lowered_output: str) -> bool:
    return any(name in lowered_output for name in COMPOUND_NAMES.get(formula, ()))


def weighted_length(text: str) -> int:
    """Length with a CJK character counted as 3: one range of ratios then fits every language.

    An English word averages ~5-6 characters with its space; a Chinese or Japanese word is
    ~1.5-2 characters, so a faithful Chinese translation has ~1/3 of the source's characters.
    """
    collapsed = " ".join(text.split())
    return len(collapsed) + 2 * len(_WIDE.findall(collapsed))


_WIDE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")

# ------------------------------------------------------------------------------------------
# Wrappers, prefaces, leaks
# ------------------------------------------------------------------------------------------

_LEAD_IN = re.compile(
    r"^\W*(?:sure|certainly|of course|okay|here is|here's|below is|the translation|translation|translated text)\b",
    re.IGNORECASE,
)
# Words about translating, in every study language: in the output's opening paragraph (and not in
# the source) they are a translator's preface, heading or instruction. Thai แปลง (transform) and
# แปลว่า (means), Japanese 内訳 (breakdown) and Russian перевести (convert units) are not.
_TRANSLATING = re.compile(
    r"translat|tradu[cçiz]|übersetz|перевод\w*\s*(?:задач|текст|услови|на\s)|перевед\w*\s+(?:задач|текст|услови|на\s)"
    r"|^\W*перевод\w*\W*$|перевод[:：]|翻译|翻譯|翻訳|訳文|和訳|訳し|译文|แปล(?![งกว])|tafsiri|অনুবাদ|అనువాద|అనువదించ"
    r"|original (?:problem|question|text)|problema original|problème original|ursprüngliche aufgabe|originalaufgabe"
    r"|исходн\w* (?:задач|текст|услови)|原题|原題|原问题|原問題|元の問題|原文"
    r"|(?:โจทย์|ข้อความ|ปัญหา)ต้นฉบับ|swali la asili|মূল প্রশ্ন|అసలు ప్రశ్న",
    re.IGNORECASE | re.MULTILINE,
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
_SENTENCE = re.compile(r".+?(?:[.!?](?=\s|$)|\n|$)", re.DOTALL)
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z']*")
#: English function words: a copied sentence with several of them is English prose (a leak); a
#: copied formula, name, sequence or code has none.
ENGLISH_FUNCTION_WORDS = frozenset(
    "the of and to in is are that which what with for on by be as from this it its at an or if how "
    "many much find let there their these those each such when where than then will would can could "
    "has have had was were not all into after before her his she he they we you your our per does "
    "did do who whom whose been being also only both either any some most more less between".split()
)


def _quote(text: str, limit: int = 60) -> str:
    """A span of the text for a reason: one line, shortened."""
    span = " ".join(text.split())
    return '"' + (span if len(span) <= limit else span[: limit - 1] + "…") + '"'


def _context(text: str, start: int, end: int, width: int = 25) -> str:
    return _quote(text[max(0, start - width) : end + width], 2 * width + end - start + 2)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n") if line.strip()]


def _opening_paragraph(text: str) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", _without_figures(text).strip()) if p.strip()]
    return paragraphs[0] if paragraphs else ""


def _wrapper_reason(source: str, output: str) -> str | None:
    """Refusals and text around the translation, judged by position and form, not by keywords alone."""
    if (refusal := _REFUSAL.search(output)) and not _REFUSAL.search(source):
        return f"refusal: the output refuses or apologises instead of translating ({_quote(refusal.group())})"
    if _LEAD_IN.search(output) and not _LEAD_IN.search(source):
        return f"wrapper: the output starts with a preface ({_quote(output[:60])}); output only the translation"
    opening = _opening_paragraph(output)
    if (about := _TRANSLATING.search(opening)) and not _TRANSLATING.search(source):
        line_start = opening.rfind("\n", 0, about.start()) + 1
        line_end = opening.find("\n", about.end())
        line = opening[line_start : line_end if line_end >= 0 else len(opening)]
        return (
            f"wrapper: the opening paragraph has a preface or heading about translating ({_quote(line, 80)}); "
            "output only the translation"
        )
    source_lines, output_lines = _lines(source), _lines(output)
    if len(output_lines) > len(source_lines):  # an added line: a note before or after the translation?
        for line in (output_lines[0], output_lines[-1]):
            if _NOTE.search(line.lstrip("( ")):
                return f"wrapper: the output adds a note or comment ({_quote(line)}); output only the translation"
    trailing_note = re.search(r"\((?:note|nota|remarque|hinweis|примечание|注)\b[^)]*\)\s*$", output.strip(), re.I)
    if trailing_note and not re.search(r"\([^)]*\)\s*$", source.strip()):
        return (
            f"wrapper: the output adds a note or comment ({_quote(trailing_note.group())}); output only the translation"
        )
    if "```" in output and "```" not in source:
        return 'wrapper: the output is in a code block ("```"); output only the translation'
    stripped, src = output.strip(), source.strip()
    wrapped = len(stripped) > 1 and stripped[0] in _OPENING_QUOTES and stripped[-1] in _CLOSING_QUOTES
    if wrapped and src[:1] not in _OPENING_QUOTES:
        return f"wrapper: the output is wrapped in quotes ({_quote(stripped)}); output only the translation"
    return None


def _prompt_leak_reason(source: str, output: str) -> str | None:
    """The translation prompt copied into the output."""
    if (found := _PROMPT_LEAK.search(output)) and not _PROMPT_LEAK.search(source):
        return (
            f"leak: the output contains the translation instructions ({_context(output, found.start(), found.end())}); "
            "output only the translation"
        )
    return None


def _english_prose(sentence: str) -> bool:
    """A sentence of English words, not a formula, a name, a sequence or code copied verbatim."""
    words = [w.lower() for w in _LATIN_WORD.findall(_MATH_SEGMENT.sub(" ", _LATEX_COMMAND.sub(" ", sentence)))]
    return len(words) >= 5 and sum(w in ENGLISH_FUNCTION_WORDS for w in words) >= 3


def _original_leak_reason(source: str, output: str, lang: str) -> str | None:
    """A sentence of English prose from the original copied next to (or instead of) its translation."""
    if lang == "en":
        return None
    for sentence in _SENTENCE.findall(_without_figures(source)):
        sentence = sentence.strip()
        if len(strip_non_language(sentence)) >= 20 and sentence in output and _english_prose(sentence):
            return f"leak: the output repeats the English original ({_quote(sentence)}); output only the translation"
    return None


def _language_text(source: str, output: str) -> str:
    """The output without what carries no language of its own: figure code, and words copied verbatim
    from the source (formulas, chemical names, sequences, names) except English function words."""
    copied = {w.lower() for w in _LATIN_WORD.findall(_without_figures(source))} - ENGLISH_FUNCTION_WORDS

    def keep(match: re.Match[str]) -> str:
        return " " if match.group().lower() in copied else match.group()

    return _LATIN_WORD.sub(keep, _without_figures(output))


def _language_reason(source: str, output: str, lang: str) -> str | None:
    """At least half of the output's own letters (see _language_text) in the target language."""
    text = _language_text(source, output)
    shares = language_shares(text)
    if not shares or shares.get(lang, 0.0) >= 0.5:
        return None
    target = LANGUAGE_NAMES.get(lang, lang)
    detected = dominant_language(shares)
    other = [line for line in _lines(text) if strip_non_language(line) and detect_language(line) != lang]
    span = _quote(max(other, key=len)) if other else _quote(text)
    if detected == lang:
        return f"language: only {shares[lang]:.0%} of the output's letters are {target}, e.g. {span}"
    name = LANGUAGE_NAMES.get(detected, "no language" if detected == "und" else "another language")
    return f"language: the output is in {name} ({detected}), not {target}: {span}"


def _truncation_reason(source: str, output: str) -> str | None:
    """Cut-off text without finish_reason: an unclosed figure, math span or bracket the source closes."""
    src, out = _strip_escaped(source), _strip_escaped(output)
    for opener, closer in (("[asy]", "[/asy]"), ("\\begin{", "\\end{"), ("\\(", "\\)"), ("\\[", "\\]")):
        if src.count(opener) == src.count(closer) and out.count(opener) > out.count(closer):
            return f"truncated: the output ends inside {opener}…{closer} ({_quote(output[-40:])})"
    return None


def _strip_escaped(text: str) -> str:
    return text.replace("\\$", "")


def check_translation(
    source: str,
    output: str | None,
    lang: str,
    settings: ValidationSettings,
    finish_reason: str | None = None,
) -> str | None:
    """None when `output` is an acceptable translation of `source` into `lang`, else the reason:
    the rule's code, what is wrong, and the offending span in quotes. Long on purpose: the
    rules in the order they are tried (the first that fails is the reason), one short block each."""
    if output is None or not output.strip():
        return 'empty: the output has no text ("")'
    if finish_reason == "length":
        return f"truncated: the output was cut at max_tokens ({_quote(output[-40:])})"
    if settings.wrapper and (reason := _prompt_leak_reason(source, output) or _wrapper_reason(source, output)):
        return reason
    long_enough = len(strip_non_language(source)) >= settings.min_chars
    if settings.language and long_enough and (reason := _language_reason(source, output, lang)):
        return reason
    if settings.wrapper and (reason := _original_leak_reason(source, output, lang)):
        return reason
    if settings.latex and (reason := _truncation_reason(source, output)):
        return reason
    if settings.latex:
        source_figures, output_figures = _FIGURE.findall(source), _FIGURE.findall(output)
        expected, found = [_figure_code(f) for f in source_figures], [_figure_code(f) for f in output_figures]
        if expected != found:
            pairs = zip(source_figures, output_figures, strict=False)
            span = next((s for s, o in pairs if _figure_code(s) != _figure_code(o)), None)
            detail = (
                f"the output has {len(found)} figure(s), the source {len(expected)}: "
                f"{_quote(source_figures[len(found)] if len(found) < len(expected) else output_figures[len(expected)])}"
                if span is None
                else f"the source's {_quote(_first_difference(span, output_figures[source_figures.index(span)]))}"
            )
            return (
                f"figure: the figure code ([asy] / TikZ) differs from the source ({detail}); keep it exactly as written"
            )
    source_text, output_text = _without_figures(source), _without_figures(output)
    if settings.numbers:
        missing = _numbers_missing(_source_numbers(source_text), output_text)
        if missing:
            where = _number_context(source_text, missing[0])
            return (
                f"numbers: {', '.join(missing[:8])} missing from the output (source: {where}); "
                "keep every number as written"
            )
        source_formulas, output_formulas = _formulas(source_text), _formulas(output_text)
        lowered = output_text.lower()
        lost = [f for f in _missing(source_formulas, output_formulas) if not _named(f, lowered)]
        if lost:
            listed = ", ".join(lost[:8])
            return f"formula: {listed} missing from the output ({_quote(lost[0])}); keep every formula as written"
    if settings.latex:
        letters = re.sub(r"[^A-Za-z]", "", output_text)  # \lambda written "lambda", \epsilono as "\epsilon_o"
        missing = [c for c in _missing(latex_of(source_text), latex_of(output_text)) if c[1:] not in letters]
        if missing:
            listed = " ".join(missing[:8])
            return f"latex: {listed} missing from the output ({_quote(missing[0])}); keep all LaTeX as written"
        output_tokens = _math_tokens(output_text)
        for match in _MATH_SEGMENT.finditer(source_text):
            content = next(group for group in match.groups() if group is not None)
            if _PROSE.search(_TEXT_ARGUMENT.sub("", content)):
                continue  # "$2 each ... $5": money, not math
            lost = _math_tokens(content) - output_tokens
            if any(not (token.startswith("\\") and token[1:] in letters) for token in lost):
                return f"latex: the math {_quote(match.group())} is missing from the output; keep all LaTeX as written"
    if long_enough:
        ratio = weighted_length(output) / max(1, weighted_length(source))
        if not settings.length_ratio_min <= ratio <= settings.length_ratio_max:
            return (
                f"length: the output is {ratio:.2f} times the source's length (allowed "
                f"{settings.length_ratio_min}-{settings.length_ratio_max}; it ends {_quote(output[-40:])}); "
                "translate everything, add nothing"
            )
    return None


def _missing(source: Counter[str], output: Counter[str]) -> list[str]:
    return sorted((source - output).elements())


def _number_context(text: str, number: str) -> str:
    for match in _SOURCE_NUMBER.finditer(_ascii_numbers(text)):
        if match.group() and _canonical(match.group(), False) == number:
            return _context(text, match.start(), match.end())
    return _quote(number)


def _first_difference(source_block: str, output_block: str) -> str:
    """The first line of a source figure that the output's figure does not have."""
    kept = _figure_code(output_block)
    for line in source_block.split("\n"):
        if _figure_code(line) and _figure_code(line) not in kept:
            return line
    return source_block[:60]


def reason_code(reason: str) -> str:
    """The machine-readable part of a reason ("numbers", "language", ...)."""
    return reason.split(":", 1)[0]


def needs_translation(text: str | None) -> bool:
    """False for texts without words (an option like "$2\\sqrt{3}$", "42" or "x"): copied as is, never sent."""
    return bool(text) and _WORD.search(strip_non_language(text)) is not None
