"""Post-training on a parallel set: TRL's GRPOTrainer, and SFTTrainer for the comparison arm.

One job trains one initial model on one parallel set. Checkpoints go to a work folder that
survives a failed or pre-empted job, and training resumes from the last one; the final
model is written with `save_pretrained` to the job's output folder only when training
finished, so Snakemake never sees a half-trained model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import polars as pl

from pscale.prompts import PromptSet, PromptStyle
from pscale.rewards import reward_functions
from pscale.runtime import set_threads, training_precision

log = logging.getLogger(__name__)


def read_train_set(train_set: Path, required: set[str]) -> pl.DataFrame:
    frame = pl.read_parquet(train_set)
    missing = required - set(frame.columns)
    if missing:
        raise ValueError(f"{train_set}: missing columns {sorted(missing)}")
    return frame


def load_prompt_dataset(train_set: Path, prompts: PromptSet, style: PromptStyle):
    """The parallel set as a TRL prompt dataset (columns prompt, answer, lang) for GRPO."""
    from datasets import Dataset

    frame = read_train_set(train_set, {"id", "lang", "question", "answer"})
    return Dataset.from_list(
        [
            {"prompt": prompts.prompt(r["question"], r["lang"], style), "answer": r["answer"], "lang": r["lang"]}
            for r in frame.iter_rows(named=True)
        ]
    )


def load_sft_dataset(train_set: Path, prompts: PromptSet, style: PromptStyle):
    """The parallel set as a TRL prompt-completion dataset: each language's own worked solution."""
    from datasets import Dataset

    frame = read_train_set(train_set, {"id", "lang", "question", "solution"})
    missing = frame.filter(pl.col("solution").is_null())
    if missing.height:
        first = missing.row(0, named=True)
        raise ValueError(
            f"{train_set}: {missing.height} rows have no solution (e.g. id {first['id']}, lang {first['lang']}); "
            "the SFT arm needs worked solutions in every language (translation.openai.translate_solution)"
        )
    return Dataset.from_list(sft_rows(frame, prompts, style))


def sft_rows(frame: pl.DataFrame, prompts: PromptSet, style: PromptStyle) -> list[dict[str, Any]]:
    """TRL prompt-completion rows: each question's prompt and its worked solution."""
    rows = []
    for r in frame.iter_rows(named=True):
        prompt = prompts.prompt(r["question"], r["lang"], style)
        completion = r["solution"] if isinstance(prompt, str) else [{"role": "assistant", "content": r["solution"]}]
        rows.append({"prompt": prompt, "completion": completion})
    return rows


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_fingerprint(model_path: str, train_set: Path, prompt_file: Path, settings: dict[str, Any]) -> str:
    """What a checkpoint was trained with: resuming is only safe when this is unchanged."""
    payload = {
        "model": model_path,
        "train_set": _file_digest(train_set),
        "prompts": _file_digest(prompt_file),
        "settings": settings,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def prepare_work_dir(work_dir: Path, fingerprint: str) -> str | None:
    """The checkpoint to resume from, or None; stale checkpoints of other settings are removed."""
    from transformers.trainer_utils import get_last_checkpoint

    stamp = work_dir / "fingerprint.txt"
    if work_dir.is_dir() and (not stamp.exists() or stamp.read_text() != fingerprint):
        log.info("settings changed since the checkpoints in %s were written: starting over", work_dir)
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)
    return get_last_checkpoint(str(work_dir))


#: Checkpointing defaults; config values override them.
CHECKPOINTING = {"logging_steps": 5, "save_strategy": "steps", "save_steps": 50, "save_total_limit": 2}


def _train_and_save(trainer: Any, output_dir: Path, work_dir: Path, resume: str | None) -> None:
    if resume:
        log.info("resuming from %s", resume)
    trainer.train(resume_from_checkpoint=resume)
    output_dir.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(output_dir))
    trainer.processing_class.save_pretrained(output_dir)
    (output_dir / "log_history.json").write_text(json.dumps(trainer.state.log_history, indent=1))
    shutil.rmtree(work_dir)  # checkpoints only serve an interrupted run; a 7B one is tens of GB


def train_grpo(
    model_path: str,
    train_set: Path,
    prompt_file: Path,
    output_dir: Path,
    work_dir: Path,
    grpo_options: dict[str, Any],
    reward_weights: dict[str, float],
    languages: list[str],
    threads: int = 1,
    callbacks: list[Any] | None = None,
    style: PromptStyle | None = None,
) -> None:
    """Stage entry point: GRPO on `train_set`, final model saved to `output_dir`."""
    from trl import GRPOConfig, GRPOTrainer

    set_threads(threads)
    style = style or PromptStyle()
    dataset = load_prompt_dataset(train_set, PromptSet.from_file(prompt_file), style)
    funcs, weights = reward_functions(reward_weights, languages)
    args = GRPOConfig(
        **{"report_to": "none", **training_precision(), **CHECKPOINTING, **grpo_options},
        output_dir=str(work_dir),
        reward_weights=weights,
    )
    settings = {"grpo": grpo_options, "reward_weights": reward_weights, "languages": languages, "style": str(style)}
    resume = prepare_work_dir(work_dir, run_fingerprint(model_path, train_set, prompt_file, settings))
    trainer = GRPOTrainer(
        model=model_path, reward_funcs=funcs, args=args, train_dataset=dataset, callbacks=callbacks
    )
    _train_and_save(trainer, output_dir, work_dir, resume)


def train_sft(
    model_path: str,
    train_set: Path,
    prompt_file: Path,
    output_dir: Path,
    work_dir: Path,
    sft_options: dict[str, Any],
    threads: int = 1,
    style: PromptStyle | None = None,
) -> None:
    """Stage entry point for the comparison arm: SFT on the same parallel set (loss on solutions)."""
    from trl import SFTConfig, SFTTrainer

    set_threads(threads)
    style = style or PromptStyle()
    dataset = load_sft_dataset(train_set, PromptSet.from_file(prompt_file), style)
    args = SFTConfig(
        **{"report_to": "none", **training_precision(), **CHECKPOINTING, **sft_options}, output_dir=str(work_dir)
    )
    settings = {"sft": sft_options, "style": str(style)}
    resume = prepare_work_dir(work_dir, run_fingerprint(model_path, train_set, prompt_file, settings))
    _train_and_save(SFTTrainer(model=model_path, args=args, train_dataset=dataset), output_dir, work_dir, resume)
