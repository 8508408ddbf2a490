"""The model stages on a model the test builds itself: tokenizer, tiny Qwen2, SFT, GRPO, generation, scoring."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from helpers import TINY_ARCH

from pscale.data.demo import make_demo_corpus
from pscale.generate import GENERATION_COLUMNS, generate_benchmark
from pscale.generation.base import SamplingOptions
from pscale.languages import STUDY_LANGUAGES
from pscale.model_init import build_model, init_model, train_tokenizer, with_foreign_questions, with_teacher_slips
from pscale.score import SCORE_COLUMNS, score_generations
from pscale.train import train_grpo

ARCH = {**TINY_ARCH, "pretrain_steps": 3, "sft_steps": 5, "sft_slip_share": 0.3, "sft_foreign_share": 0.2}
LANGS = ["en", "es", "ja", "te"]


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    for name, frame in make_demo_corpus(60, 3, seed=2).items():
        for lang in STUDY_LANGUAGES:
            path = folder / name / f"{lang}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.filter(pl.col("lang") == lang).write_parquet(path)
    return folder


@pytest.fixture(scope="module")
def init_dir(corpus_dir: Path, prompt_file: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models") / "init"
    files = [corpus_dir / "demo_train" / f"{lang}.parquet" for lang in STUDY_LANGUAGES]
    init_model(files, corpus_dir / "demo_train" / "en.parquet", prompt_file, out, ARCH, threads=2)
    return out


def test_tokenizer_round_trips_every_script(corpus_dir: Path) -> None:
    texts = pl.concat(pl.read_parquet(p) for p in (corpus_dir / "demo_train").glob("*.parquet"))["question"].to_list()
    tokenizer = train_tokenizer(texts, 800)
    for lang in STUDY_LANGUAGES:
        sample = pl.read_parquet(corpus_dir / "demo_test" / f"{lang}.parquet")["question"][0]
        assert tokenizer.decode(tokenizer(sample)["input_ids"]) == sample
    messages = [{"role": "user", "content": "hi"}]
    chat = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert chat == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    model = build_model(tokenizer, ARCH)
    assert model.config.model_type == "qwen2" and model.config.vocab_size == len(tokenizer)


#: Text in every study script, with digits (ASCII, native, full-width), LaTeX and the chat markup.
ROUND_TRIP_PROBES = [
    "Tom has 12 apples and 7 pears. \\boxed{19}",
    "<think>There are 10 - 2 = 8 cookies left.</think>\n\\boxed{8}",
    "$\\frac{1}{2} + x^{2}$ = 0.5, 1,000 and 3.14",
    "Pablo tiene 12 manzanas. ¿Cuántas quedan? Écris la réponse. Größe: 204",
    "У Ивана 12 яблок. 小明有12个苹果。かごの中に10枚。ในตะกร้ามี 10 ชิ้น ๒๐๔",
    "Kikapu kina biskuti 10. ঝুড়িতে 10টি বিস্কুট ২০৪ బుట్టలో 10 బిస్కెట్లు ౨౦౪ ２０４",
]


def test_every_tokenizer_loader_gives_the_trained_ids(init_dir: Path, corpus_dir: Path) -> None:
    """Generation (AutoTokenizer) and the trainers (train.load_tokenizer) must see the ids the
    model was trained on; AutoTokenizer on a qwen2 folder rebuilds Qwen2Tokenizer's own pipeline."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    from pscale.train import load_tokenizer

    texts = pl.concat(pl.read_parquet(p) for p in (corpus_dir / "demo_train").glob("*.parquet"))
    trained = train_tokenizer([*texts["question"].to_list(), *texts["solution"].to_list()], ARCH["vocab_size"])
    trained.save_pretrained(init_dir / "probe_tokenizer")
    for path in (init_dir, init_dir / "probe_tokenizer"):
        reference = PreTrainedTokenizerFast.from_pretrained(path)
        chat = reference.apply_chat_template(
            [{"role": "user", "content": ROUND_TRIP_PROBES[0]}], tokenize=False, add_generation_prompt=True
        )
        loaders = {
            "AutoTokenizer": AutoTokenizer.from_pretrained(path),
            "train.load_tokenizer": load_tokenizer(str(path), padding_side="left", truncation_side="left"),
        }
        for name, loaded in loaders.items():
            for text in [*ROUND_TRIP_PROBES, chat]:
                expected = reference(text, add_special_tokens=False)["input_ids"]
                assert loaded(text, add_special_tokens=False)["input_ids"] == expected, (name, text)
    # The tokenizer as trained (before any save) agrees with what is loaded back.
    loaded = AutoTokenizer.from_pretrained(init_dir / "probe_tokenizer")
    for text in ROUND_TRIP_PROBES:
        expected = trained(text, add_special_tokens=False)["input_ids"]
        assert loaded(text, add_special_tokens=False)["input_ids"] == expected
    assert loaded.tokenize(" 12") == trained.tokenize(" 12")


def test_warm_start_rows_slip_results_and_ask_in_other_languages() -> None:
    """The warm start's two departures from clean English SFT, at the configured shares."""
    import re

    corpus = make_demo_corpus(400, 0, seed=1)["demo_train"]
    english = corpus.filter(pl.col("lang") == "en")
    slipped = with_teacher_slips(english, 0.3, seed=0)
    changed = slipped.filter(pl.col("solution") != english["solution"])
    assert 0.22 < changed.height / english.height < 0.38
    for row in changed.iter_rows(named=True):
        boxed = int(re.search(r"\\boxed\{(\d+)\}", row["solution"])[1])
        equation = int(re.search(r"= (\d+)", row["solution"])[1])
        assert boxed == equation and 1 <= abs(boxed - int(row["answer"])) <= 2, row["solution"]
    assert with_teacher_slips(english, 0.0, seed=0).equals(english)
    odd = pl.DataFrame({"answer": ["1/2"], "solution": ["<think>1/2</think>\\boxed{1/2}"]})
    assert with_teacher_slips(odd, 1.0, seed=0).equals(odd)  # not a whole number: left as it is

    others = {lang: corpus.filter(pl.col("lang") == lang) for lang in STUDY_LANGUAGES}
    mixed, native = with_foreign_questions(slipped, others, 0.2, seed=0)
    assert not any(native) and mixed["solution"].equals(slipped["solution"])  # answered in English, slips kept
    foreign = mixed.filter(pl.col("lang") != "en")
    assert 0.14 < foreign.height / mixed.height < 0.26
    assert foreign["lang"].n_unique() == len(STUDY_LANGUAGES) - 1
    asked = {(r["id"], r["lang"]): r["question"] for r in corpus.iter_rows(named=True)}
    assert all(asked[(r["id"], r["lang"])] == r["question"] for r in foreign.iter_rows(named=True))

    # A native share per language: that share of its foreign rows gets the language's own solution.
    shares = {"es": 0.9, "te": 0.3}
    mixed, native = with_foreign_questions(slipped, others, 0.6, seed=0, native_share=shares)
    solved = {(r["id"], r["lang"]): r["solution"] for r in corpus.iter_rows(named=True)}
    rows = mixed.with_columns(pl.Series("native", native))
    for lang, share in shares.items():
        part = rows.filter(pl.col("lang") == lang)
        got = part["native"].mean()
        assert abs(got - share) < 0.2, (lang, got)
        for r in part.filter(pl.col("native")).iter_rows(named=True):
            assert r["solution"] == solved[(r["id"], lang)]
    assert not rows.filter(~pl.col("lang").is_in(list(shares)) & pl.col("native")).height
    # Without a native share the rows (and the random stream) are those of the plain call.
    assert with_foreign_questions(slipped, others, 0.2, seed=0, native_share={})[0].equals(
        with_foreign_questions(slipped, others, 0.2, seed=0)[0]
    )


def test_init_model_saves_a_loadable_model(init_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(init_dir)
    tokenizer = AutoTokenizer.from_pretrained(init_dir)
    assert model.config.model_type == "qwen2" and tokenizer.eos_token == "<|im_end|>"
    history = json.loads((init_dir / "log_history.json").read_text())
    losses = [h["loss"] for h in history if "loss" in h]
    assert len(losses) >= 2 and all(loss > 0 for loss in losses)
    assert not (init_dir / "sft_work").exists()


class Preempted(Exception):
    """Stands in for a Slurm pre-emption: the job dies after a checkpoint."""


def _preempt_after(step: int):
    from transformers import TrainerCallback

    class PreemptAfter(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.global_step >= step:
                raise Preempted

    return PreemptAfter()


def test_grpo_trains_resumes_and_restarts_on_new_settings(
    init_dir: Path, corpus_dir: Path, prompt_file: Path, tmp_path: Path, caplog
) -> None:
    train_set = tmp_path / "set.parquet"
    pl.concat(
        pl.read_parquet(corpus_dir / "demo_train" / f"{lang}.parquet").head(8) for lang in ("en", "es")
    ).write_parquet(train_set)
    options = {
        "max_steps": 3,
        "per_device_train_batch_size": 4,
        "num_generations": 4,
        "max_completion_length": 12,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "save_steps": 1,
        "seed": 0,
    }
    weights = {"accuracy": 0.8, "format": 0.1, "language": 0.1}
    out, work = tmp_path / "model", tmp_path / "work"
    langs = list(STUDY_LANGUAGES)

    def preempted_run(settings: dict) -> None:
        with pytest.raises(Preempted):
            train_grpo(
                str(init_dir),
                train_set,
                prompt_file,
                out,
                work,
                settings,
                weights,
                langs,
                callbacks=[_preempt_after(2)],
            )
        assert not out.exists() and (work / "checkpoint-2").is_dir()

    caplog.set_level("INFO")
    # Checkpoints written with other settings are not resumed.
    preempted_run({**options, "learning_rate": 5e-4})
    caplog.clear()
    train_grpo(str(init_dir), train_set, prompt_file, out, work, options, weights, langs)
    assert "starting over" in caplog.text and "resuming" not in caplog.text
    assert not work.exists()  # checkpoints are removed once the model is saved

    # A preempted job restarted with the same settings continues from its last checkpoint.
    shutil.rmtree(out)
    preempted_run(options)
    caplog.clear()
    train_grpo(str(init_dir), train_set, prompt_file, out, work, options, weights, langs)
    assert "resuming from" in caplog.text and "checkpoint-2" in caplog.text
    history = json.loads((out / "log_history.json").read_text())
    logged = [h for h in history if "rewards/accuracy_reward/mean" in h]
    assert [h["step"] for h in logged] == [1, 2, 3]
    assert all(0.0 <= h["rewards/language_reward/mean"] <= 1.0 for h in logged)
    assert (out / "model.safetensors").exists()


def test_generate_then_score(init_dir: Path, corpus_dir: Path, prompt_file: Path, tmp_path: Path) -> None:
    files = [corpus_dir / "demo_test" / f"{lang}.parquet" for lang in LANGS]
    options = SamplingOptions(n_samples=2, temperature=0.7, top_p=0.95, max_new_tokens=12, seed=0, batch_size=5)
    frame = generate_benchmark(str(init_dir), files, prompt_file, tmp_path / "gen.parquet", options)
    assert tuple(frame.columns) == GENERATION_COLUMNS
    assert frame.height == 3 * len(LANGS) * 2
    assert frame.group_by("id", "lang").len()["len"].to_list() == [2] * (3 * len(LANGS))
    again = generate_benchmark(str(init_dir), files, prompt_file, tmp_path / "gen2.parquet", options)
    assert again["response"].to_list() == frame["response"].to_list()  # seeded

    # Score real generations plus known responses, so grading is checked both ways.
    known = frame.head(2).with_columns(
        pl.Series("response", ["<think>Tom has 1 + 1 = 2.</think>\n\\boxed{" + frame["answer"][0] + "}", "\\boxed{-1}"])
    )
    pl.concat([frame, known]).write_parquet(tmp_path / "gen.parquet")
    score_generations(tmp_path / "gen.parquet", tmp_path / "scores.parquet", list(STUDY_LANGUAGES))
    scores = pl.read_parquet(tmp_path / "scores.parquet")
    assert tuple(scores.columns) == SCORE_COLUMNS
    assert scores["correct"].to_list()[-2:] == [True, False]
    assert scores["detected_lang"].to_list()[-2:] == ["en", "und"]


def test_one_engine_for_several_benchmarks_samples_as_separate_jobs(
    init_dir: Path, corpus_dir: Path, prompt_file: Path, tmp_path: Path
) -> None:
    """Grouped generation (one engine start per model and run) gives each benchmark the
    responses a job of its own gives it: grouping is a scheduling choice, not a result."""
    from pscale.generate import generate_benchmarks

    options = SamplingOptions(n_samples=2, temperature=0.7, top_p=0.95, max_new_tokens=8, seed=3, batch_size=4)
    parts = [[corpus_dir / "demo_test" / f"{lang}.parquet" for lang in langs] for langs in (["en", "es"], ["ja"])]
    grouped = generate_benchmarks(
        str(init_dir), [(files, tmp_path / f"g{i}.parquet") for i, files in enumerate(parts)], prompt_file, options
    )
    for i, files in enumerate(parts):
        alone = generate_benchmark(str(init_dir), files, prompt_file, tmp_path / f"a{i}.parquet", options)
        assert grouped[i].equals(alone) and pl.read_parquet(tmp_path / f"g{i}.parquet").equals(alone)


def test_training_length_in_epochs_is_recorded_as_the_plan_counts_it(
    init_dir: Path, corpus_dir: Path, prompt_file: Path, tmp_path: Path
) -> None:
    """num_train_epochs instead of max_steps: training.json says steps, passes and prompts seen,
    and the steps are the ones `pscale plan` counts for that set (TRL's arithmetic)."""
    from pscale.train import train_sft
    from pscale.training_length import TRAINING_SUMMARY, training_steps

    train_set = tmp_path / "set.parquet"
    pl.concat(
        pl.read_parquet(corpus_dir / "demo_train" / f"{lang}.parquet").head(6) for lang in ("en", "es")
    ).write_parquet(train_set)
    grpo = {"num_train_epochs": 1, "per_device_train_batch_size": 8, "num_generations": 4,
            "max_completion_length": 8, "logging_steps": 1, "seed": 0}  # fmt: skip
    weights = {"accuracy": 0.8, "format": 0.1, "language": 0.1}
    out = tmp_path / "grpo"
    train_grpo(str(init_dir), train_set, prompt_file, out, tmp_path / "w1", grpo, weights, list(STUDY_LANGUAGES))
    summary = json.loads((out / TRAINING_SUMMARY).read_text())
    # 12 prompts, 2 per step (8 completions / 4 generations): 6 steps, one pass, 12 prompts seen
    assert (summary["steps"], summary["prompts_seen"], summary["set_rows"]) == (6, 12, 12)
    assert summary["epochs"] == pytest.approx(1.0) and summary["num_train_epochs"] == 1
    assert training_steps(grpo, "grpo", 12, 1) == (6, 1.0, 12)

    sft = {"num_train_epochs": 2, "per_device_train_batch_size": 5, "logging_steps": 1, "seed": 0}
    out = tmp_path / "sft"
    train_sft(str(init_dir), train_set, prompt_file, out, tmp_path / "w2", sft)
    summary = json.loads((out / TRAINING_SUMMARY).read_text())
    # batches of 5 from 12 rows: 3 a pass (the last short), 6 steps, 30 prompts at 5 a step
    assert (summary["steps"], summary["prompts_seen"]) == (6, 30) == training_steps(sft, "sft", 12, 1)[::2]
    assert summary["epochs"] == pytest.approx(2.0)


def test_report_to_reaches_the_trainer(init_dir: Path, corpus_dir: Path, prompt_file: Path, tmp_path: Path) -> None:
    """training.grpo.report_to is TRL's: the trainer sets up that integration (TensorBoard is not
    installed here, so transformers refuses it by name), under the run's name; `none` logs nowhere."""
    train_set = tmp_path / "set.parquet"
    pl.read_parquet(corpus_dir / "demo_train" / "en.parquet").head(4).write_parquet(train_set)
    grpo = {"max_steps": 1, "per_device_train_batch_size": 4, "num_generations": 4, "max_completion_length": 4,
            "report_to": "tensorboard"}  # fmt: skip
    weights = {"accuracy": 1.0, "format": 0.0, "language": 0.0}
    out = tmp_path / "models" / "tiny" / "grpo-grow-x1-s0"
    with pytest.raises(RuntimeError, match=r"(?i)tensorboard"):
        train_grpo(str(init_dir), train_set, prompt_file, out, tmp_path / "w", grpo, weights, ["en"])
    import os

    assert os.environ.pop("TENSORBOARD_LOGGING_DIR") == str(out.with_name("grpo-grow-x1-s0.tensorboard"))
