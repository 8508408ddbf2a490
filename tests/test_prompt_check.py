"""Every prompt of every benchmark x language is checked against its model's context before
generation (pscale.prompt_check), and a grouped generation job keeps its finished benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from helpers import untrained_model

from pscale.data.demo import make_demo_corpus
from pscale.errors import UserError
from pscale.generation.base import SamplingOptions
from pscale.prompt_check import RunSetting, check_prompts, prompt_tokens, read_dropped
from pscale.prompts import PromptSet, PromptStyle

LANGS = ["en", "es", "te"]
LONG_ID = "long-one"


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> dict[str, list[Path]]:
    """Two small parallel benchmarks in three languages; in `demo_hard` one problem whose Telugu
    translation is far longer than the others (as real translations of long questions can be)."""
    folder = tmp_path_factory.mktemp("bench")
    corpus = make_demo_corpus(10, 4, seed=3)
    files: dict[str, list[Path]] = {}
    for name in ("demo_test", "demo_hard"):
        frame = corpus[name].filter(pl.col("lang").is_in(LANGS))
        if name == "demo_hard":
            first = frame.filter(pl.col("id") == frame["id"][0])
            long = first.with_columns(
                id=pl.lit(LONG_ID),
                question=pl.when(pl.col("lang") == "te").then(pl.col("question").repeat_by(40).list.join(" "))
                .otherwise(pl.col("question")),
            )  # fmt: skip
            frame = pl.concat([frame, long])
        files[name] = []
        for lang in LANGS:
            path = folder / name / f"{lang}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.filter(pl.col("lang") == lang).write_parquet(path)
            files[name].append(path)
    return files


@pytest.fixture(scope="module")
def model(bench: dict[str, list[Path]], tmp_path_factory) -> Path:
    texts = pl.concat(pl.read_parquet(p) for paths in bench.values() for p in paths)["question"].to_list()
    return untrained_model(tmp_path_factory.mktemp("model") / "tiny", texts)


def _setting(model: Path, run: str = "init", **evaluation) -> RunSetting:
    options = {"max_new_tokens": 40, "force_language": False, "vllm": {}, **evaluation}
    return RunSetting.from_options(str(model), {"run": run, "chat_template": "auto", "evaluation": options}, False)


def test_prompts_are_counted_as_the_engine_sees_them(model: Path, prompt_file: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    prompts = PromptSet.from_file(prompt_file)
    chat = prompts.prompt("What is 2 + 3?", "en", PromptStyle())
    rendered = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    assert prompt_tokens(tokenizer, [chat]) == [len(tokenizer(rendered, add_special_tokens=False)["input_ids"])]
    asked = prompts.prompt("What is 2 + 3?", "en", PromptStyle(format_prompt=True))
    assert prompt_tokens(tokenizer, [asked])[0] > prompt_tokens(tokenizer, [chat])[0]  # the system message counts
    plain = prompts.prompt("What is 2 + 3?", "en", PromptStyle(chat=False))
    assert prompt_tokens(tokenizer, [plain]) == [len(tokenizer(plain)["input_ids"])]


def test_a_prompt_too_long_stops_the_run_naming_it(model: Path, bench, prompt_file: Path, tmp_path: Path) -> None:
    # The tiny model has 512 positions (config.json) and 40 new tokens: 472 for the prompt.
    with pytest.raises(UserError) as error:
        check_prompts("tiny", [_setting(model)], bench, prompt_file, "fail", tmp_path / "l.parquet", tmp_path / "d.csv")
    message = str(error.value)
    assert "\n" not in message and "dataset demo_hard" in message and "language te" in message
    assert f"id {LONG_ID}" in message and "limit 472" in message and "too_long: drop" in message
    tokens = int(message.split(f"id {LONG_ID}: ")[1].split(" tokens")[0])
    assert tokens > 472
    # Every prompt fits a longer context: nothing is dropped, every prompt is measured.
    roomy = _setting(model, vllm={"max_model_len": 8192})
    dropped = check_prompts("tiny", [roomy], bench, prompt_file, "fail", tmp_path / "l.parquet", tmp_path / "d.csv")
    lengths = pl.read_parquet(tmp_path / "l.parquet")
    assert dropped.height == 0 and lengths.height == sum(pl.read_parquet(p).height for v in bench.values() for p in v)
    assert lengths["fits"].all() and set(lengths["room"]) == {8192 - 40}
    assert read_dropped(tmp_path / "d.csv") == {}


def test_drop_leaves_the_problem_out_of_every_language(model: Path, bench, prompt_file: Path, tmp_path: Path) -> None:
    from pscale.generate import generate_benchmark

    # The initial model's settings fit; an observational model based on it has less room: the
    # problem leaves every run of the model (comparisons stay paired), listed with that run's numbers.
    settings = [_setting(model, vllm={"max_model_len": 8192}), _setting(model, "obs-thinker", max_new_tokens=100)]
    out = tmp_path / "dropped.csv"
    check_prompts("tiny", settings, bench, prompt_file, "drop", tmp_path / "lengths.parquet", out)
    table = pl.read_csv(out)
    assert table.columns == ["benchmark", "id", "run", "lang", "tokens", "room"]
    assert table.select("benchmark", "id", "run", "lang", "room").rows() == [
        ("demo_hard", LONG_ID, "obs-thinker", "te", 412)
    ]
    dropped = read_dropped(out)
    assert dropped == {"demo_hard": {LONG_ID}}
    options = SamplingOptions(n_samples=1, temperature=0.0, top_p=1.0, max_new_tokens=4, seed=0, batch_size=16)
    frame = generate_benchmark(
        str(model), bench["demo_hard"], prompt_file, tmp_path / "g.parquet", options, dropped=dropped["demo_hard"]
    )
    assert LONG_ID not in frame["id"].to_list() and frame.height == 4 * len(LANGS)
    assert frame.group_by("id").len()["len"].to_list() == [len(LANGS)] * 4


def test_a_grouped_job_killed_between_benchmarks_keeps_the_finished_one(
    model: Path, bench, prompt_file: Path, tmp_path: Path, caplog, monkeypatch
) -> None:
    """`pscale generate` as the workflow runs it (receipts under results/work/done): the benchmark a
    killed grouped job finished is adopted on the retry, and by a job of that benchmark alone."""
    from pscale.cli import main

    monkeypatch.delenv("PSCALE_RESULTS_DIR", raising=False)
    options = {"n_samples": 2, "temperature": 0.7, "top_p": 0.95, "max_new_tokens": 6, "seed": 1, "batch_size": 16}
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in bench["demo_hard"]:  # the second benchmark cannot be read: the job dies after the first
        (broken / path.name).write_bytes(path.read_bytes()[:50])
    out = tmp_path / "results" / "eval" / "generations"
    outputs = [out / "demo_test.parquet", out / "demo_hard.parquet"]

    def generate(hard: list[Path], only: list[Path] = outputs, **changed) -> int:
        return main([
            "generate", "--model", str(model), "--benchmarks", "demo_test", "demo_hard",
            "--benchmark-files", *map(str, bench["demo_test"]), *map(str, hard), "--prompts", str(prompt_file),
            "--output", *map(str, only), "--options", json.dumps({**options, **changed}),
        ])  # fmt: skip

    assert generate(sorted(broken.iterdir())) == 1
    assert outputs[0].is_file() and not outputs[1].exists()
    finished = pl.read_parquet(outputs[0])
    outputs[0].unlink()  # as Snakemake deletes the outputs of a failed job before its retry

    caplog.set_level("INFO")
    assert generate(bench["demo_hard"]) == 0
    assert f"adopted {outputs[0]}" in caplog.text and f"adopted {outputs[1]}" not in caplog.text
    assert pl.read_parquet(outputs[0]).equals(finished) and outputs[1].is_file()
    # What was kept is what a job of its own generates, and such a job adopts it.
    caplog.clear()
    assert generate(bench["demo_hard"], only=[outputs[1]]) == 0
    assert f"adopted {outputs[1]}" in caplog.text
    alone = tmp_path / "alone" / "demo_test.parquet"
    assert generate(bench["demo_hard"], only=[alone]) == 0
    assert pl.read_parquet(alone).equals(finished)

    # A kept benchmark of other settings is generated again.
    caplog.clear()
    assert generate(bench["demo_hard"], seed=2) == 0
    assert "adopted" not in caplog.text


def test_the_cli_checks_with_the_workflows_arguments(model: Path, bench, prompt_file: Path, tmp_path: Path) -> None:
    from pscale.cli import main

    evaluation = {"too_long": "drop", "max_new_tokens": 40}
    runs = [{"run": "init", "chat_template": "auto", "system_prompt": None, "evaluation": evaluation}]
    argv = [
        "check-prompts", "--model-name", "tiny", "--models", str(model), "--runs", json.dumps(runs),
        "--benchmarks", "demo_test", "demo_hard", "--benchmark-files", *map(str, bench["demo_test"]),
        *map(str, bench["demo_hard"]), "--prompts", str(prompt_file), "--format-prompt",
        "--lengths-out", str(tmp_path / "l.parquet"), "--dropped-out", str(tmp_path / "d.csv"),
    ]  # fmt: skip
    assert main(argv) == 0
    assert read_dropped(tmp_path / "d.csv") == {"demo_hard": {LONG_ID}}
    for changed in ({"too_long": "fail"}, {"max_new_tokens": 4096}):  # the default 4,096 new tokens: no room
        runs[0]["evaluation"] = {**evaluation, **changed}
        argv[argv.index("--runs") + 1] = json.dumps(runs)
        assert main(argv) == 1
