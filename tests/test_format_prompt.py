"""The paper's answer format is asked for (config `format_prompt`), in every study language, and
the format reward scores what is asked for, so it has something to teach."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pscale.languages import STUDY_LANGUAGES, lang_share
from pscale.prompts import PromptSet, PromptStyle
from pscale.rewards import format_score


@pytest.mark.parametrize("lang", STUDY_LANGUAGES)
def test_every_language_asks_for_the_format_in_its_own_language(prompt_file: Path, lang: str) -> None:
    request = PromptSet.from_file(prompt_file).format_request(lang)
    assert request.index("<think>") < request.index("</think>") < request.rindex("\\boxed{}")
    words = re.sub(r"<[^>]+>|\\boxed\{\}", " ", request)
    assert lang_share(words, lang) >= 0.9, (lang, request)


def test_format_request_is_the_system_message_unless_the_model_has_its_own(prompt_file: Path) -> None:
    prompts = PromptSet.from_file(prompt_file)
    asked = prompts.prompt("¿Cuánto es 2+2?", "es", PromptStyle(format_prompt=True))
    assert asked[0] == {"role": "system", "content": prompts.format_request("es")}
    assert asked[1]["role"] == "user" and asked[1]["content"].startswith("¿Cuánto es 2+2?")
    assert prompts.prompt("Q", "es", PromptStyle())[0]["role"] == "user"  # off: no system message
    own = prompts.prompt("Q", "es", PromptStyle(system_prompt="Be brief.", format_prompt=True))
    assert [m["content"] for m in own if m["role"] == "system"] == ["Be brief."]
    plain = prompts.prompt("Wie viel ist 2+2?", "de", PromptStyle(chat=False, format_prompt=True))
    question = prompts.text("Wie viel ist 2+2?", "de") + "\n"
    assert plain == prompts.format_request("de") + "\n\n" + question


def test_the_format_reward_pays_in_full_only_for_the_requested_format() -> None:
    """A plain boxed answer (what models give unasked) earns half; the requested format all of it."""
    asked_for = "<think>2 + 2 = 4, so the answer is 4.</think>\nThe answer is \\boxed{4}."
    assert format_score(asked_for) == 1.0
    assert format_score("2 + 2 = 4. \\boxed{4}") == 0.5
    assert format_score("<think>2 + 2 = 4</think> 4") == 0.5
    # A template that pre-fills <think> in the prompt (DeepSeek-R1 distills) leaves the completion inside it.
    assert format_score("2 + 2 = 4.</think>\\boxed{4}") == 1.0


def test_the_demo_keeps_its_prompts_and_the_paper_asks_for_the_format(repo: Path) -> None:
    from pscale.config import load_config

    assert load_config(repo / "config.yaml")["format_prompt"] is False
    assert load_config(repo / "experiments" / "paper.yaml")["format_prompt"] is True


def test_the_cli_style_carries_the_format_request() -> None:
    from pscale.cli import _style, build_parser

    args = build_parser().parse_args(
        ["generate", "--model", "m", "--benchmark-dir", "b", "--prompts", "p", "--output", "o", "--format-prompt"]
    )
    assert _style(args) == PromptStyle(format_prompt=True)
    init = ["init-model", "--corpus", "c", "--sft-file", "s", "--prompts", "p", "--output", "o"]
    args = build_parser().parse_args(init)
    assert args.format_prompt is False
