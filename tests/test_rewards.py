from __future__ import annotations

import pytest

from pscale.grading import grade, is_correct
from pscale.languages import UNDETERMINED, detect_language, strip_non_language
from pscale.rewards import (
    accuracy_reward,
    completion_text,
    format_reward,
    format_score,
    make_language_reward,
    reward_functions,
)

GOOD = "<think>Tom has 3 + 4 = 7 apples now.</think>\n\\boxed{7}"


def test_grade_accepts_equal_answers_and_rejects_wrong_ones() -> None:
    assert is_correct("7", GOOD)
    assert is_correct("7", "\\boxed{7.0}")
    assert is_correct("7", "so \\boxed{\\frac{14}{2}}")
    assert not is_correct("7", "\\boxed{8}")
    assert not is_correct("7", "<think>3 + 4 = 7</think> \\boxed{70}")
    assert grade("12", "\\boxed{12}") == ("12", True)


def test_unboxed_answer_only_counts_when_boxed_not_required() -> None:
    assert not is_correct("7", "The final answer is 7", require_boxed=True)
    assert grade("7", "The final answer is 7", require_boxed=True) == (None, False)
    assert is_correct("7", "The final answer is $7$", require_boxed=False)


def test_accuracy_reward_handles_chat_and_text_completions() -> None:
    completions = [[{"role": "assistant", "content": GOOD}], GOOD, "\\boxed{6}", "no answer"]
    assert accuracy_reward(completions, answer=["7", "7", "7", "7"]) == [1.0, 1.0, 0.0, 0.0]
    assert completion_text([{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}]) == "ab"


@pytest.mark.parametrize(
    ("text", "score"),
    [
        (GOOD, 1.0),
        ("<think>reasoning</think>", 0.5),
        ("\\boxed{7}", 0.5),
        ("<think>a<think>b</think>\\boxed{1}", 0.5),
        ("<think>a</think>\\boxed{1}</think>", 0.5),
        ("just text", 0.0),
    ],
)
def test_format_score(text: str, score: float) -> None:
    assert format_score(text) == score


def test_format_reward_batch() -> None:
    assert format_reward([GOOD, "x"]) == [1.0, 0.0]


def test_language_detection_strips_math_and_flags_empty() -> None:
    assert strip_non_language("<think>Tom 3 + 4 = 7</think> \\boxed{7} $x^2$") == "Tom"
    assert detect_language("\\boxed{7}") == UNDETERMINED
    assert detect_language("<think>Tom hat jetzt 3 + 4 = 7 Äpfel.</think>\n\\boxed{7}") == "de"
    assert detect_language("<think>Juma ana machungwa 3 + 4 = 7 sasa.</think>") == "sw"
    assert detect_language("<think>O João tem agora 7 maçãs.</think>") == "pt"  # not folded into es
    assert detect_language("トムは今りんごを 7 個持っています。") == "ja"


def test_language_reward_matches_prompt_language() -> None:
    reward = make_language_reward()
    german = "<think>Anna hat jetzt 3 + 4 = 7 Bücher.</think>\n\\boxed{7}"
    assert reward([german, german, "\\boxed{7}"], lang=["de", "en", "de"]) == [1.0, 0.0, 0.0]


WEIGHTS = {"accuracy": 0.8, "format": 0.1, "language": 0.1}


def test_rewards_read_the_scoring_settings() -> None:
    unboxed = "<think>3 + 4 = 7</think> The answer is $7$"
    (strict, _fmt, _lang), weights = reward_functions(WEIGHTS, scoring={"require_boxed": True, "min_letters": 3})
    (lenient, _fmt, _lang), _ = reward_functions(WEIGHTS, scoring={"require_boxed": False, "min_letters": 3})
    assert weights == [0.8, 0.1, 0.1]
    assert strict([unboxed], answer=["7"]) == [0.0]
    assert lenient([unboxed], answer=["7"]) == [1.0]
    (_acc, _fmt, few), _ = reward_functions(WEIGHTS, scoring={"min_letters": 3})
    (_acc, _fmt, many), _ = reward_functions(WEIGHTS, scoring={"min_letters": 50})
    short = "Tom has 7 apples. \\boxed{7}"
    assert few([short], lang=["en"]) == [1.0] and many([short], lang=["en"]) == [0.0]


def test_accuracy_reward_grades_native_digits_and_choices() -> None:
    reward, *_ = reward_functions(WEIGHTS)[0]
    assert reward(["\\boxed{২০৪}", "\\boxed{(B)}"], answer=["204", "B"], n_choices=[0, 4]) == [1.0, 1.0]


def test_reasoning_content_is_part_of_the_completion() -> None:
    message = {"role": "assistant", "reasoning_content": "Tom has 3 + 4 = 7 apples.", "content": "\\boxed{7}"}
    assert completion_text([message]) == "<think>Tom has 3 + 4 = 7 apples.</think>\\boxed{7}"
    assert format_reward([[message]]) == [1.0]
    assert format_reward([[{"role": "assistant", "thinking": "7", "content": "\\boxed{7}"}]]) == [1.0]


def test_prefilled_think_can_reach_full_format_reward() -> None:
    # The chat template put "<think>" in the prompt: the completion starts inside the block.
    assert format_score("Tom has 3 + 4 = 7 apples.</think>\n\\boxed{7}") == 1.0
    assert format_score("reasoning</think> no box") == 0.5
    assert format_score("a</think>b</think>\\boxed{1}") == 0.5


def test_language_reward_is_the_language_share() -> None:
    reward = make_language_reward()
    english = "Tom has three apples and buys four more, so now he has seven apples in his basket."
    thai = "ทอมมีแอปเปิลสามลูกและซื้อเพิ่มอีกสี่ลูก"
    shares = reward([english + " " + thai], lang=["th"])
    assert 0.2 < shares[0] < 0.5
    with pytest.raises(ValueError, match="not among the study languages"):
        make_language_reward(["en"])([english], lang=["th"])
