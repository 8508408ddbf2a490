"""Generation stops at the chat template's end-of-turn token and the EOS, in evaluation and GRPO,
for a model whose EOS (`<|endoftext|>`) is not its end-of-turn token (`<|im_end|>`)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from helpers import CHATML_ANSWER, CHATML_QUESTION, chatml_base_model

from pscale.generation.base import SamplingOptions
from pscale.generation.stops import cut_at_stop, end_of_turn_token, stops_for

GREEDY = SamplingOptions(n_samples=1, temperature=0.0, top_p=1.0, max_new_tokens=60, seed=0, batch_size=2)
PROMPT = [{"role": "user", "content": CHATML_QUESTION}]


@pytest.fixture(scope="module")
def base_model(tmp_path_factory) -> Path:
    return chatml_base_model(tmp_path_factory.mktemp("chatml-base"))


def test_the_stops_are_the_end_of_turn_token_and_every_eos(base_model: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    im_end, eos = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    assert tokenizer.eos_token_id == eos and end_of_turn_token(tokenizer) == "<|im_end|>"
    stops = stops_for(tokenizer, [eos, 99])
    assert stops.token_ids == (im_end, eos, 99) and stops.strings == ()
    # A special token given as a stop string becomes an id (engines drop it from the text they match).
    assert stops_for(tokenizer, None, ["<|im_end|>", "Question:"]).strings == ("Question:",)
    tokenizer.chat_template = None  # plain-text prompts: the EOS alone
    assert end_of_turn_token(tokenizer) is None and stops_for(tokenizer).token_ids == (eos,)
    assert cut_at_stop("a\\boxed{1}\nQuestion: b", ["Question:", "\nQ"]) == "a\\boxed{1}"


def test_evaluation_stops_at_the_end_of_turn(base_model: Path) -> None:
    import torch

    from pscale.generation.hf import TransformersBackend

    engine = TransformersBackend(str(base_model))
    # The model does write past its turn: stopping at its EOS alone returns an invented next turn.
    tokenizer = engine.tokenizer
    text = tokenizer.apply_chat_template(PROMPT, tokenize=False, add_generation_prompt=True)
    batch = tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        plain = engine.model.generate(**batch, max_new_tokens=60, do_sample=False)
    run_on = tokenizer.decode(plain[0, batch["input_ids"].shape[1] :], skip_special_tokens=True)
    assert run_on.startswith(CHATML_ANSWER) and "and now 9 + 9?" in run_on
    assert engine.generate([PROMPT], GREEDY) == [[CHATML_ANSWER]]
    # Configured stop strings end the text too (cut, as vLLM returns it).
    stopped = engine.generate([PROMPT], SamplingOptions(**{**GREEDY.__dict__, "stop": ("</think>",)}))
    assert stopped == [["<think>ok"]]


def test_vllm_sampling_params_carry_the_stops(base_model: Path) -> None:
    from transformers import AutoTokenizer

    from pscale.generation.stops import generation_eos_ids
    from pscale.generation.vllm import sampling_kwargs

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    eos_ids = generation_eos_ids(str(base_model))
    assert eos_ids == [tokenizer.eos_token_id]
    options = SamplingOptions(n_samples=4, temperature=0.6, top_p=0.95, max_new_tokens=128, seed=1, batch_size=8)
    kwargs = sampling_kwargs(options, stops_for(tokenizer, eos_ids, ["\n\nProblem:"]))
    assert kwargs == {
        "n": 4,
        "temperature": 0.6,
        "top_p": 0.95,
        "max_tokens": 128,
        "seed": 1,
        "stop_token_ids": tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"]),
        "stop": ["\n\nProblem:"],
    }
    assert sampling_kwargs(options, stops_for(tokenizer, eos_ids))["stop"] is None


def test_grpo_generation_stops_at_the_end_of_turn(base_model: Path, prompt_file: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from pscale.train import grpo_generation_kwargs, train_grpo

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    stops = stops_for(tokenizer, [tokenizer.eos_token_id])
    ids = list(stops.token_ids)
    assert grpo_generation_kwargs({"use_vllm": True}, stops) == {"stop_token_ids": ids}
    assert grpo_generation_kwargs({}, stops) == {"eos_token_id": ids}
    assert grpo_generation_kwargs({"generation_kwargs": {"eos_token_id": [5]}}, stops) == {"eos_token_id": [5]}

    train_set = tmp_path / "set.parquet"
    rows = {"id": ["a", "b"], "lang": ["en", "en"], "question": ["What is 3 + 4?"] * 2, "answer": ["7"] * 2}
    pl.DataFrame(rows).write_parquet(train_set)
    options = {
        "max_steps": 1,
        "per_device_train_batch_size": 4,
        "num_generations": 4,
        "max_completion_length": 40,
        "temperature": 0.3,
        "learning_rate": 1e-9,
        "logging_steps": 1,
        "save_strategy": "no",
        "seed": 0,
    }
    weights = {"accuracy": 0.8, "format": 0.1, "language": 0.1}
    out = tmp_path / "model"
    train_grpo(str(base_model), train_set, prompt_file, out, tmp_path / "work", options, weights, ["en"])
    logged = next(h for h in json.loads((out / "log_history.json").read_text()) if "completions/clipped_ratio" in h)
    answer_length = len(tokenizer(CHATML_ANSWER)["input_ids"]) + 1  # + <|im_end|>
    assert logged["completions/clipped_ratio"] == 0.0
    assert logged["completions/mean_length"] <= answer_length + 2 < options["max_completion_length"]
    assert logged["rewards/accuracy_reward/mean"] == 1.0  # the box after the turn is never read
