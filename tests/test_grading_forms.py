"""Answer forms real models write (issue 16), table by table, in every study language they occur in.

Every case in READ_AS_GOLD, CHOICE_FORMS, NO_OPTION and the prompt test was graded wrong
before issue 16 (checked against that grader: `python tests/test_grading_forms.py OLD_SRC`
grades the tables with the `pscale` found in OLD_SRC and lists any case it already got right).
STAYS_WRONG pins what must not become right: hedges, several answers, a wrong number in
each of the new forms.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from pscale.grading import ScoringSettings, grade, math_candidates
from pscale.languages import STUDY_LANGUAGES
from pscale.prompts import PromptSet, PromptStyle
from pscale.score import check_gold, score_frame

# --- math: (case, query language, gold, box content) that must read as the gold ------------
READ_AS_GOLD = [
    # a counter or unit word in any script
    ("zh counter", "zh", "204", "204个"),
    ("zh counter spaced", "zh", "204", "204 个"),
    ("zh people", "zh", "204", "204人"),
    ("zh kinds", "zh", "204", "204 种"),
    ("zh full-width digits and counter", "zh", "204", "２０４个"),
    ("ja counter", "ja", "204", "204 個"),
    ("ja ways", "ja", "204", "204 通り"),
    ("ja people", "ja", "204", "204人"),
    ("ja yen", "ja", "204", "204円"),
    ("ja months", "ja", "204", "204か月"),
    ("th minutes", "th", "204", "204 นาที"),
    ("th people, thai digits", "th", "204", "๒๐๔ คน"),
    ("bn days", "bn", "204", "204 দিন"),
    ("bn counter, bengali digits", "bn", "204", "২০৪টি"),
    ("te days", "te", "204", "204 రోజులు"),
    ("te minutes, telugu digits", "te", "204", "౨౦౪ నిమిషాలు"),
    ("sw minutes", "sw", "204", "204 dakika"),
    ("ru minutes", "ru", "204", "204 минуты"),
    ("ru apples", "ru", "204", "204 яблока"),
    ("de apples", "de", "204", "204 Äpfel"),
    ("es unit with accent", "es", "204", "204 días"),
    ("fr unit with accent", "fr", "204", "204 élèves"),
    ("decimal and unit", "fr", "2.5", "2,5 km"),
    # a trailing full stop
    ("trailing period", "en", "204", "204."),
    ("trailing period es", "es", "204", "204."),
    ("trailing ideographic full stop", "zh", "204", "204。"),
    ("trailing danda", "bn", "204", "২০৪।"),
    ("trailing period after a fraction", "en", "\\frac{1}{2}", "\\frac{1}{2}."),
    # a modulus
    ("pmod braces", "en", "204", "204 \\pmod{1000}"),
    ("pmod bare", "en", "204", "204 \\pmod 1000"),
    ("bmod in parentheses", "en", "204", "204 \\ (\\bmod 1000)"),
    ("congruence", "en", "204", "N \\equiv 204 \\pmod{1000}"),
    ("pmod ja", "ja", "204", "204 \\pmod{1000}"),
    # digit grouping
    ("thin space", "en", "1000", "1\\,000"),
    ("thin space, millions", "en", "1000000", "1\\,000\\,000"),
    ("space fr", "fr", "1000", "1 000"),
    ("space ru", "ru", "1000000", "1 000 000"),
    ("no-break space fr", "fr", "1000", "1\u00a0000"),
    ("narrow no-break space fr", "fr", "1000", "1\u202f000"),
    ("narrow no-break space ru", "ru", "25000", "25\u202f000"),
    ("space and decimal point en", "en", "1000.5", "1 000.5"),
    ("grouping and counter", "zh", "10000", "10 000 个"),
    # the decimal comma where the query language writes one
    ("decimal comma es", "es", "0.5", "0,5"),
    ("decimal comma fr", "fr", "0.5", "0,5"),
    ("decimal comma de", "de", "0.5", "0,5"),
    ("decimal comma ru", "ru", "0.5", "0,5"),
    ("decimal comma de 3,75", "de", "3.75", "3,75"),
    ("negative decimal comma ru", "ru", "-2.5", "-2,5"),
    ("decimal comma against a fraction gold", "fr", "\\frac{1}{4}", "0,25"),
    ("latex decimal comma de", "de", "0.5", "0{,}5"),
    ("point grouping, decimal comma de", "de", "1000.5", "1.000,5"),
    ("point grouping de", "de", "1000000", "1.000.000"),
    ("space grouping, decimal comma fr", "fr", "1234.5", "1 234,5"),
    ("german 1.000 as a thousand", "de", "1000", "1.000"),
]


@pytest.mark.parametrize(("case", "lang", "gold", "content"), READ_AS_GOLD, ids=[c[0] for c in READ_AS_GOLD])
def test_math_forms_read_as_the_number(case: str, lang: str, gold: str, content: str) -> None:
    response = f"<think>...</think> \\boxed{{{content}}}"
    extracted, correct = grade(gold, response, lang=lang)
    assert correct, (case, extracted, math_candidates(extracted or "", lang))


# --- math: what must stay wrong --------------------------------------------------------------
STAYS_WRONG = [
    # hedges and several answers
    ("hedge or", "en", "204", "204 or 205"),
    ("hedge either", "en", "3", "either 3 or 4"),
    ("hedge zh", "zh", "204", "204个或205个"),
    ("hedge ja", "ja", "204", "204 または 205"),
    ("hedge th", "th", "204", "204 หรือ 205"),
    ("hedge ru", "ru", "204", "204 или 205"),
    ("hedge es", "es", "204", "204 o 205"),
    ("hedge bn", "bn", "204", "২০৪ বা ২০৫"),
    ("two answers", "en", "204", "204, 205"),
    ("bound zh", "zh", "204", "204以上"),
    ("bound en", "en", "204", "204 or more"),
    ("approximation ja", "ja", "204", "204くらい"),
    # a wrong number in every new form
    ("wrong counter", "zh", "204", "205个"),
    ("wrong counter th", "th", "204", "205 นาที"),
    ("wrong trailing period", "en", "204", "205."),
    ("wrong pmod", "en", "204", "205 \\pmod{1000}"),
    ("wrong grouping", "fr", "1000", "1 001"),
    ("wrong decimal comma", "de", "0.5", "0,6"),
    ("wrong thin space", "en", "1000", "10\\,000"),
    # the decimal comma only where the language writes one; a variable is not a unit
    ("comma in English is two numbers", "en", "0.5", "0,5"),
    ("english 1,000 is a thousand", "en", "1", "1,000"),
    ("a variable after a number", "en", "2", "2x"),
    ("a power is not a unit", "en", "2", "2^{10}"),
]


@pytest.mark.parametrize(("case", "lang", "gold", "content"), STAYS_WRONG, ids=[c[0] for c in STAYS_WRONG])
def test_math_hedges_and_wrong_numbers_stay_wrong(case: str, lang: str, gold: str, content: str) -> None:
    assert not grade(gold, f"\\boxed{{{content}}}", lang=lang)[1], case


def test_math_forms_that_already_worked_still_do() -> None:
    assert grade("204", "\\boxed{204\\text{个}}", lang="zh")[1]
    assert grade("204", "\\boxed{204\\ \\text{square métres}}")[1]
    assert grade("0.125", "\\boxed{0,125}", lang="es")[1]
    assert grade("204", "\\boxed{204 minutes}")[1]
    assert grade("1000", "\\boxed{1,000}")[1]
    assert grade("1000000", "\\boxed{1,000,000}")[1]
    assert grade("1000", "\\boxed{1{,}000}")[1]
    assert grade("2.5", "\\boxed{2.5}", lang="de")[1]
    assert grade("10", "\\boxed{10\\%}")[1]
    assert grade("2x", "\\boxed{2x}")[1]


# --- multiple choice -------------------------------------------------------------------------
# GPQA-Diamond-style options: one holding "A = ..., B = ...", formulas, a name starting with a
# letter. No option starts with its own letter, so the old reader's luck does not count.
OPTIONS = (
    "A = methyl 1-(2-hydroxyethyl)cyclohexane-1-carboxylate, B = 4-methylpentan-1-ol",
    "C11H12",
    "D-glucose",
    "$C_{2v}$",
)
# The same options as a translator leaves them in each language (prose translated, formulas kept).
OPTIONS_BY_LANG = {
    "en": ("hydrochloric acid", "C11H12", "D-glucose", "$C_{2v}$"),
    "es": ("ácido clorhídrico", "C11H12", "D-glucosa", "$C_{2v}$"),
    "fr": ("acide chlorhydrique", "C11H12", "D-glucose", "$C_{2v}$"),
    "de": ("Salzsäure", "C11H12", "D-Glucose", "$C_{2v}$"),
    "ru": ("соляная кислота", "C11H12", "D-глюкоза", "$C_{2v}$"),
    "zh": ("盐酸", "C11H12", "D-葡萄糖", "$C_{2v}$"),
    "ja": ("塩酸", "C11H12", "D-グルコース", "$C_{2v}$"),
    "th": ("กรดไฮโดรคลอริก", "C11H12", "D-กลูโคส", "$C_{2v}$"),
    "sw": ("asidi hidrokloriki", "C11H12", "D-glukosi", "$C_{2v}$"),
    "bn": ("হাইড্রোক্লোরিক অ্যাসিড", "C11H12", "D-গ্লুকোজ", "$C_{2v}$"),
    "te": ("హైడ్రోక్లోరిక్ ఆమ్లం", "C11H12", "D-గ్లూకోజ్", "$C_{2v}$"),
}

STEREO = (
    "(R)-2-((S)-fluoro(phenyl)methyl)cyclohexan-1-one",
    "(S)-2-((R)-fluoro(phenyl)methyl)cyclohexan-1-one",
    "((S)-((R)-2,2-difluorocyclohexyl)fluoromethyl)benzene",
    "((R)-((R)-2,2-difluorocyclohexyl)fluoromethyl)benzene",
)
SYNTHESIS = (
    "i) HNO3/H2SO4 ; ii) Fe/HCl ; iii) NaNO2/HCl",
    "i) Br2/FeBr3 ; ii) HNO3/H2SO4 ; iii) Fe/HCl",
    "i) CH3COCl/AlCl3 ; ii) Br2/FeBr3 ; iii) HNO3/H2SO4",
    "i) HNO3/H2SO4 ; ii) CH3COCl/AlCl3 ; iii) Fe/HCl",
)
FIELD = (
    "$E = \\dfrac{1}{4 \\pi \\epsilon_o} \\dfrac{q}{l^2}$",
    "$E = \\dfrac{1}{4 \\pi \\epsilon_o} \\dfrac{q}{L^2}$",
    "$E = \\dfrac{1}{4 \\pi \\epsilon_o} \\dfrac{q}{s^2}$",
    "$E = 0$",
)

# (case, gold letter, box content, option texts or None): must grade right.
CHOICE_FORMS = (
    [
        ("letter, then option text holding A = and B =", "A", f"A) {OPTIONS[0]}", OPTIONS),
        ("letter, then a cut option text holding A =", "D", "D) A = methyl 1-(2-hydroxyethyl)", None),
        ("letter, then a formula", "B", "B) C11H12", None),
        ("letter with a period, then a formula", "A", "A. C_{2v}", None),
        ("letter with a colon, then a formula", "A", "A: $C_{2v}$", None),
        ("letter in parentheses, then a formula", "D", "(D) C11H12", None),
        ("letter, then D-glucose", "C", "C) D-glucose", None),
        ("letter, then the option's own text", "B", "B C11H12", OPTIONS),
        ("letter, then the option's text in text", "A", f"A \\text{{{OPTIONS[0]}}}", OPTIONS),
        ("option text only: formula", "B", "C11H12", OPTIONS),
        ("option text only: formula in latex", "D", "C_{2v}", OPTIONS),
        ("option text only: formula in mathrm", "D", "\\mathrm{C_{2v}}", OPTIONS),
        ("option text only: D-glucose", "C", "D-glucose", OPTIONS),
        ("option text only: holding A = and B =", "A", OPTIONS[0], OPTIONS),
        ("option text only: other case and spacing", "A", OPTIONS[0].upper().replace(", ", ","), OPTIONS),
        ("option text in text", "C", "\\text{D-glucose}", OPTIONS),
        ("option text with a full stop", "B", "C11H12.", OPTIONS),
        # real GPQA-Diamond option texts that start like an option letter, or differ only in case
        ("option text starting with (S)", "B", STEREO[1], STEREO),
        ("option text starting with i)", "C", SYNTHESIS[2], SYNTHESIS),
        ("option text differing only in case", "B", "E = \\dfrac{1}{4 \\pi \\epsilon_o} \\dfrac{q}{L^2}", FIELD),
    ]
    + [
        (f"option text only: {lang}", "A", options[0], options)
        for lang, options in OPTIONS_BY_LANG.items()
        if lang != "en"
    ]
    + [
        (f"letter and translated text: {lang}", "C", f"C) {options[2]}", options)
        for lang, options in OPTIONS_BY_LANG.items()
        if lang != "en"
    ]
)


@pytest.mark.parametrize(("case", "gold", "content", "options"), CHOICE_FORMS, ids=[c[0] for c in CHOICE_FORMS])
def test_choice_forms_name_the_option(case: str, gold: str, content: str, options: tuple[str, ...] | None) -> None:
    response = f"<think>...</think> \\boxed{{{content}}}"
    assert grade(gold, response, n_choices=4, choices=options) == (gold, True), case


# (case, box content, option texts or None): no option (a unit, a word, a contradiction).
NO_OPTION = [
    ("unit ampere", "4 A", None),
    ("unit coulomb after scientific notation", "5.2\\times10^{-3} C", None),
    ("word D-glucose without the options", "D-glucose", None),
    ("word with a letter prefix", "B-cell", OPTIONS),
    ("formula without the options", "C11H12", None),
    ("formula that is no option", "C2H6", OPTIONS),
    ("letter contradicting the option text", "C) C11H12", OPTIONS),
    ("unit ampere with the options", "4 A", OPTIONS),
]


@pytest.mark.parametrize(("case", "content", "options"), NO_OPTION, ids=[c[0] for c in NO_OPTION])
def test_no_option_from_units_words_or_contradictions(case: str, content: str, options: tuple[str, ...] | None) -> None:
    for gold in "ABCD":
        assert grade(gold, f"\\boxed{{{content}}}", n_choices=4, choices=options) == (None, False), (case, gold)


def test_choice_forms_that_already_worked_still_do() -> None:
    assert grade("C", f"\\boxed{{C) {SYNTHESIS[2]}}}", n_choices=4) == ("C", True)
    assert grade("C", f"\\boxed{{C) {SYNTHESIS[2]}}}", n_choices=4, choices=SYNTHESIS) == ("C", True)
    assert grade("B", "\\boxed{\\textbf{(B)}}", n_choices=4, choices=OPTIONS) == ("B", True)


UNBOXED_BOLD = [
    ("en", "Comparing the four options, the answer is \\textbf{D}."),
    ("es", "Por lo tanto, la respuesta es \\textbf{(D)}."),
    ("ru", "Ответ: $\\mathbf{D}$"),
    ("ja", "よって答えは \\textbf{D} です。"),
]


@pytest.mark.parametrize(("lang", "response"), UNBOXED_BOLD, ids=[c[0] for c in UNBOXED_BOLD])
def test_unboxed_bold_letter_after_an_answer_phrase(lang: str, response: str) -> None:
    """With scoring.require_boxed: false, "the answer is \\textbf{D}" names D."""
    assert grade("D", response, require_boxed=False, n_choices=4) == ("D", True)
    assert grade("D", response, n_choices=4) == (None, False)  # boxes required: no box, no answer


#: Unboxed conclusions of real responses (tests/data/real_responses, s1.1-32B on Global-MMLU): the
#: phrase in bold, or the letter first and "the correct answer" after it. The draft "maybe answer
#: A" earlier in the thinking must not win over the conclusion.
UNBOXED_CONCLUSION = [
    ("bold phrase", "B", "So maybe answer A. Hmm.\n\n**Conclusion**: the rest are plan types.   **Answer**: B. Ad hoc"),
    (
        "letter first, bold",
        "B",
        "So maybe answer A.\n<|im_start|>answer\nThus, making **B. kilimo** the correct answer.",
    ),
    ("option in parentheses", "B", "So maybe answer A.\n\nAvoiding saturation (Option B) is the best choice here."),
    (
        "option text in CJK",
        "C",
        "So answer A?\n\nmaking **C. 市民としての誇り (Civic Pride)** the most appropriate answer.",
    ),
    ("French", "C", "Donc la réponse est A ?\n\nFinalement, C est la bonne réponse."),
    ("phrase after a named option", "C", "Option B: maybe, but the correct answer is C."),
]


@pytest.mark.parametrize(("case", "gold", "response"), UNBOXED_CONCLUSION, ids=[c[0] for c in UNBOXED_CONCLUSION])
def test_unboxed_conclusion_names_the_letter(case: str, gold: str, response: str) -> None:
    assert grade(gold, response, require_boxed=False, n_choices=4) == (gold, True), case


#: Sentences with "the correct answer" that name no letter: a word, an article, a negation.
NO_CONCLUSION = [
    "I think the correct answer is not obvious.",
    "A kilogram of feathers is the best answer to compare.",
    "Option B is not the correct answer.",
    "B: is it the correct answer?",
]


@pytest.mark.parametrize("response", NO_CONCLUSION)
def test_no_letter_from_words_before_the_correct_answer(response: str) -> None:
    assert grade("B", response, require_boxed=False, n_choices=4) == (None, False)


def test_hedges_still_name_no_option() -> None:
    for content in ("A) or C)", "(A) (C)", "A, C", "A or C", "B. A"):
        for options in (None, OPTIONS):
            assert grade("A", f"\\boxed{{{content}}}", n_choices=4, choices=options) == (None, False), content


def test_two_options_with_the_same_text_name_none() -> None:
    same = ("x y", "$x\\,y$", "z", "w")  # GPQA-Diamond has items with two identical options
    assert grade("A", "\\boxed{x y}", n_choices=4, choices=same) == (None, False)
    assert grade("A", "\\boxed{A) x y}", n_choices=4, choices=same) == ("A", True)
    # case counts first; without it only when no option matches with it
    cased = ("Co", "CO", "Cu", "Zn")
    assert grade("A", "\\boxed{Co}", n_choices=4, choices=cased) == ("A", True)
    assert grade("B", "\\boxed{CO}", n_choices=4, choices=cased) == ("B", True)
    assert grade("D", "\\boxed{zn}", n_choices=4, choices=cased) == ("D", True)
    assert grade("A", "\\boxed{co}", n_choices=4, choices=cased) == (None, False)


def test_score_frame_reads_option_texts_from_the_generations_file() -> None:
    frame = pl.DataFrame(
        {
            "id": ["g1", "g1", "m1"],
            "lang": ["ja", "ja", "de"],
            "sample": [0, 1, 0],
            "n_choices": [4, 4, 0],
            "answer": ["A", "A", "0.5"],
            "response": [
                "答えは \\boxed{塩酸} です。",
                "答えは \\boxed{C11H12}",
                "Also ist das Ergebnis \\boxed{0,5}.",
            ],
            "choices": [list(OPTIONS_BY_LANG["ja"]), list(OPTIONS_BY_LANG["ja"]), None],
        },
        schema_overrides={"choices": pl.List(pl.String)},
    )
    scored = score_frame(frame, ScoringSettings.from_config())
    assert scored["extracted"].to_list() == ["A", "B", "0,5"]
    assert scored["correct"].to_list() == [True, False, True]
    # a file from before the `choices` column: letters only
    assert score_frame(frame.drop("choices"), ScoringSettings.from_config())["correct"].to_list() == [
        False,
        False,
        True,
    ]


def test_option_count_must_match_the_letters() -> None:
    frame = pl.DataFrame(
        {"id": ["g7"], "answer": ["A"], "n_choices": [4], "choices": [["x", "y", "z"]]},
        schema_overrides={"choices": pl.List(pl.String)},
    )
    with pytest.raises(
        ValueError, match=r"dataset 'gpqa', item g7: 3 option texts in column 'choices' but n_choices is 4"
    ):
        check_gold(frame, "gpqa")


# --- the prompt asks for the letter in every study language --------------------------------


def test_multiple_choice_prompt_asks_for_the_letter_in_every_language(prompt_file: Path) -> None:
    prompts = PromptSet.from_file(prompt_file)
    spec = yaml.safe_load(prompt_file.read_text(encoding="utf-8"))
    assert set(spec["choice_instruction"]) == set(STUDY_LANGUAGES)
    for lang in STUDY_LANGUAGES:
        text = prompts.prompt("Which compound?", lang, PromptStyle(), list(OPTIONS))[-1]["content"]
        assert "\\boxed{A}" in text and "\\boxed{B}" in text, lang
        assert spec["instruction"][lang] not in text, lang  # not "put the final answer in \boxed{}"
        assert "A) A = methyl" in text and "C) D-glucose" in text
        math = prompts.prompt("What is 2+2?", lang, PromptStyle())[-1]["content"]
        assert "\\boxed{A}" not in math and math.endswith(spec["instruction"][lang])


def test_prompt_file_without_choice_instruction_names_the_language(tmp_path: Path) -> None:
    path = tmp_path / "prompts.yaml"
    path.write_text(yaml.safe_dump({"template": "{question}\n{instruction}", "instruction": {"en": "Box it."}}))
    with pytest.raises(KeyError, match=r"no choice_instruction for language 'en'"):
        PromptSet.from_file(path).prompt("Q?", "en", PromptStyle(), ["x", "y"])


def _grade_with_old_code(old_src: str) -> None:
    """List the table cases the grader in `old_src` already got right (there should be none)."""
    sys.path.insert(0, old_src)
    for name in [m for m in sys.modules if m == "pscale" or m.startswith("pscale.")]:
        del sys.modules[name]
    from pscale.grading import grade as old_grade

    already = []
    for case, _lang, gold, content in READ_AS_GOLD:
        if old_grade(gold, f"\\boxed{{{content}}}")[1]:
            already.append(case)
    for case, gold, content, _options in CHOICE_FORMS:
        if old_grade(gold, f"\\boxed{{{content}}}", n_choices=4)[1]:
            already.append(case)
    for case, content, _options in NO_OPTION:
        if old_grade("A", f"\\boxed{{{content}}}", n_choices=4)[0] is None:
            already.append(case)
    for lang, response in UNBOXED_BOLD:
        if old_grade("D", response, require_boxed=False, n_choices=4)[1]:
            already.append(f"unboxed bold {lang}")
    for case, gold, response in UNBOXED_CONCLUSION:
        if old_grade(gold, response, require_boxed=False, n_choices=4)[1]:
            already.append(f"unboxed conclusion {case}")
    total = len(READ_AS_GOLD) + len(CHOICE_FORMS) + len(NO_OPTION) + len(UNBOXED_BOLD) + len(UNBOXED_CONCLUSION)
    print(f"old grader right on {len(already)} of {total} cases: {already}")


if __name__ == "__main__":
    _grade_with_old_code(sys.argv[1])
