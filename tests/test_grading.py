"""Grading fair to every script: native and full-width digits, option letters in every form,
the last-box rule, hedges, multilingual "the answer is" phrases, gold answers at ingestion.

Every case in the tables below was graded wrong by the scorer before issue 8 (checked against
that grader); the plain tests at the end pin what must stay as it was.
"""

from __future__ import annotations

import polars as pl
import pytest

from pscale.grading import (
    ScoringSettings,
    boxed_contents,
    choice_letter,
    cjk_integer,
    gold_letter,
    grade,
    is_correct,
    last_boxed,
    normalize_answer,
)
from pscale.score import check_gold, score_frame

# --- digits of every script, full-width forms, CJK numerals (gold 204) -----------------------
DIGIT_CASES = [
    ("bengali", "<think>১০০ + ১০৪ = ২০৪</think> উত্তর \\boxed{২০৪}"),
    ("telugu", "కాబట్టి సమాధానం \\boxed{౨౦౪}"),
    ("thai", "ดังนั้นคำตอบคือ \\boxed{๒๐๔}"),
    ("arabic-indic", "\\boxed{٢٠٤}"),
    ("devanagari", "\\boxed{२०४}"),
    ("full-width", "所以答案是 \\boxed{２０４}"),
    ("full-width in a japanese box", "答えは \\boxed{２０４} です。"),
    ("chinese numeral", "答案是 \\boxed{二百零四}"),
    ("full-width minus and digits", "\\boxed{－２０４}"),
]


@pytest.mark.parametrize(("script", "response"), DIGIT_CASES, ids=[c[0] for c in DIGIT_CASES])
def test_digits_of_every_script_are_the_same_answer(script: str, response: str) -> None:
    gold = "-204" if "－" in response else "204"
    assert grade(gold, response) == (gold, True)


def test_native_digits_still_have_to_be_the_right_number() -> None:
    assert grade("204", "\\boxed{২০৫}") == ("205", False)
    assert not is_correct("204", "\\boxed{二百零五}")


# --- multiple choice: the option letter in every form (gold B unless stated) -----------------
CHOICE_CASES = [
    ("parenthesised", "\\boxed{(B)}", "B", True),
    ("option with its text", "\\boxed{B) 3.5 mol}", "B", True),
    ("text command", "\\boxed{\\text{B}}", "B", True),
    ("bold text in parentheses", "\\boxed{\\textbf{(B)}}", "B", True),
    ("lowercase", "\\boxed{b}", "B", True),
    ("full-width", "\\boxed{Ｂ}", "B", True),
    ("cyrillic A", "Ответ: \\boxed{А}", "A", True),
    ("cyrillic Ve", "Ответ: \\boxed{В}", "B", True),
    ("cyrillic Es", "Ответ: \\boxed{С}", "C", True),
    ("greek Beta", "\\boxed{Β}", "B", True),
    ("hedge: all four", "\\boxed{A, B, C, D}", "A", False),
    ("hedge: either", "\\boxed{A or D}", "A", False),
    ("last box counts", "First I thought \\boxed{A}, but checking again: \\boxed{C}", "C", True),
    ("gold stored boxed", "\\boxed{D}", "\\boxed{D}", True),
    ("gold stored with parentheses", "\\boxed{D}", "(D)", True),
]


@pytest.mark.parametrize(("form", "response", "gold", "expected"), CHOICE_CASES, ids=[c[0] for c in CHOICE_CASES])
def test_choice_letter_forms(form: str, response: str, gold: str, expected: bool) -> None:
    assert is_correct(gold, response, n_choices=4) is expected


ANSWER_PHRASES = [
    ("en", "After checking each option, the answer is (B)."),
    ("en bold", "Option A is ruled out by the charge balance.\n**Answer: (B)**"),
    ("es", "Por lo tanto, la respuesta correcta es (B)."),
    ("fr", "L'option A est fausse, donc la réponse est (B)."),
    ("de", "Also ist die Antwort: (B)"),
    ("ru", "Следовательно, ответ: В."),
    ("zh", "因此答案是 B。"),
    ("ja", "よって、答えは (B) です。"),
    ("th", "ตัวเลือก A ไม่ถูกต้อง ดังนั้นคำตอบคือ (B)"),
    ("sw", "Chaguo A si sahihi, kwa hiyo jibu ni (B)."),
    ("bn", "অতএব উত্তর হল (B)।"),
    ("te", "ఎంపిక D తప్పు, కాబట్టి సమాధానం: (B)"),
]


@pytest.mark.parametrize(("lang", "response"), ANSWER_PHRASES, ids=[c[0] for c in ANSWER_PHRASES])
def test_unboxed_answer_phrase_in_every_language(lang: str, response: str) -> None:
    assert grade("B", response, require_boxed=False, n_choices=4) == ("B", True)


# --- several answers: the last box counts, for math as for multiple choice -------------------
SEVERAL_BOXES = [
    ("two boxes, gold last", "\\boxed{12}, \\boxed{13}", "13", True),
    ("restated after a draft", "Draft: \\boxed{7}. Checking: 3 + 5 = 8, so \\boxed{8}", "8", True),
    ("nested braces in the last box", "\\boxed{1} then \\boxed{\\frac{1}{2}}", "0.5", True),
]


@pytest.mark.parametrize(("case", "response", "gold", "expected"), SEVERAL_BOXES, ids=[c[0] for c in SEVERAL_BOXES])
def test_last_box_counts(case: str, response: str, gold: str, expected: bool) -> None:
    assert is_correct(gold, response) is expected


def test_last_box_rule_is_one_rule() -> None:
    response = "\\boxed{12}, \\boxed{13}"
    assert boxed_contents(response) == ["12", "13"]
    assert last_boxed(response) == "13"
    assert not is_correct("12", response)  # the earlier box is not a second chance
    assert not is_correct("12", "\\boxed{12, 13}")  # several answers in one box: a hedge, wrong
    assert is_correct("C", "\\boxed{A} \\boxed{C}", n_choices=4)
    assert not is_correct("A", "\\boxed{A} \\boxed{C}", n_choices=4)


# --- gold answers -----------------------------------------------------------------------------


def test_gold_that_names_no_letter_stops_scoring_naming_the_item() -> None:
    frame = pl.DataFrame({"id": ["gpqa-7"], "answer": ["Vanadium"], "n_choices": [4]})
    with pytest.raises(ValueError, match=r"dataset 'gpqa', item gpqa-7: gold answer 'Vanadium'"):
        check_gold(frame, "gpqa")
    with pytest.raises(ValueError, match="names no option letter"):
        gold_letter("E", 4)


def test_math_gold_that_cannot_be_parsed_stops_scoring() -> None:
    for broken in ("\\frac{", "\\boxed{}", ""):
        frame = pl.DataFrame({"id": ["m-1"], "answer": [broken], "n_choices": [0]})
        with pytest.raises(ValueError, match="dataset 'math', item m-1: math-verify cannot parse"):
            check_gold(frame, "math")


def test_normalize_answer() -> None:
    assert normalize_answer("২০৪") == "204"
    assert normalize_answer("（２）") == "(2)"
    assert normalize_answer("−3") == "-3"
    assert normalize_answer("二〇二四") == "2024"
    assert cjk_integer("十二") == 12 and cjk_integer("三千二百") == 3200 and cjk_integer("一万零五") == 10005
    assert cjk_integer("二十个") is None  # a numeral with a counter is text, not a number
    assert normalize_answer("x^2") == "x^2"


def test_choice_letter_rejects_letters_beyond_the_options() -> None:
    assert choice_letter("E", 4) is None
    assert choice_letter("E", 5) == "E"
    assert choice_letter("3.5 mol", 4) is None


# --- what must not change ---------------------------------------------------------------------


def test_plain_answers_grade_as_before() -> None:
    assert grade("12", "\\boxed{12}") == ("12", True)
    assert is_correct("7", "<think>3 + 4 = 7</think>\\boxed{7.0}")
    assert is_correct("7", "so \\boxed{\\frac{14}{2}}")
    assert is_correct("\\frac{1}{2}", "\\boxed{0.5}")
    assert is_correct("7", "\\boxed{x = 7}")
    assert not is_correct("7", "\\boxed{70}")
    assert is_correct("A", "\\boxed{A}", n_choices=4)
    assert is_correct("B", "\\boxed{B. Vanadium}", n_choices=4)
    assert not is_correct("D", "\\boxed{A) or D)}", n_choices=4)
    assert not is_correct("A", "\\boxed{B}", n_choices=4)
    assert grade("B", "the answer is B", require_boxed=True, n_choices=4) == (None, False)
    assert grade("A", "The answer is a prime number.", require_boxed=False, n_choices=4) == (None, False)
    assert grade("A", "The answer is (a).", require_boxed=False, n_choices=4) == ("A", True)


def test_score_frame_grades_and_measures_language() -> None:
    frame = pl.DataFrame(
        {
            "id": ["a", "b"],
            "lang": ["bn", "ru"],
            "sample": [0, 0],
            "n_choices": [0, 4],
            "answer": ["204", "B"],
            "response": ["অতএব মোট আপেলের সংখ্যা হল \\boxed{২০৪}", "Правильный ответ — вариант \\boxed{В}"],
        }
    )
    scored = score_frame(frame, ScoringSettings.from_config())
    assert scored["correct"].to_list() == [True, True]
    assert scored["extracted"].to_list() == ["204", "B"]
    assert scored["detected_lang"].to_list() == ["bn", "ru"]
    assert scored["lang_share"].to_list() == [1.0, 1.0]


def test_gold_answers_are_normalised_at_ingestion() -> None:
    from pscale.data.hub import normalize

    rows = [{"problem": "How many?", "answer": "２০৪", "solution": "First \\boxed{3}, finally \\boxed{২০৪}."}]
    by_field = normalize(rows, {"question_field": "problem", "answer_field": "answer"}, "d", 0)
    from_solution = normalize(
        rows, {"question_field": "problem", "answer_from_solution": True, "solution_field": "solution"}, "d", 0
    )
    assert by_field["answer"].to_list() == ["204"]
    assert from_solution["answer"].to_list() == ["204"]


def test_process_pool_scores_like_one_process() -> None:
    from pscale.score import score_rows

    rows = [
        ("204", "Tom has \\boxed{২০৪} apples.", 0, "en", None),
        ("B", "Ответ: \\boxed{В}", 4, "ru", None),
        ("7", "\\boxed{1} then \\boxed{\\frac{14}{2}}", 0, "en", None),
        ("C", "\\boxed{A or C}", 4, "en", None),
        ("B", "\\boxed{C11H12}", 4, "en", ("x", "C11H12", "y", "z")),
    ] * 40
    alone = score_rows(rows, ScoringSettings.from_config(), workers=1)
    pooled = score_rows(rows, ScoringSettings.from_config(), workers=2, chunk_rows=30)
    assert pooled == alone
    assert [correct for _e, correct, _d, _s in alone[:5]] == [True, True, True, False, True]
