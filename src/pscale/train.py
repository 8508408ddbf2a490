"""Post-training on a parallel set: TRL's GRPOTrainer, and SFTTrainer for the comparison arm.

One job trains one initial model on one parallel set. Checkpoints go to a work folder that
survives a failed or preempted job, and training resumes from the last one; the final
model is written with `save_pretrained` to the job's output folder only when training
finished, so Snakemake never sees a half-trained model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import polars as pl

from pscale.errors import UserError
from pscale.generation.stops import Stops, generation_eos_ids, stops_for
from pscale.prompts import PromptSet, PromptStyle, grpo_rows, sft_rows
from pscale.rewards import reward_functions
from pscale.runtime import set_threads, training_precision

log = logging.getLogger(__name__)


def read_train_set(train_set: Path, required: set[str]) -> pl.DataFrame:
    """The parallel set, checked: every required column present, questions and answers non-empty."""
    from pscale.tables import read_table

    columns = {c: ("string" if c in {"id", "lang", "question", "answer", "solution"} else None) for c in required}
    non_empty = [c for c in ("id", "lang", "question", "answer") if c in required]
    return read_table(train_set, columns, non_empty=non_empty, what="training set")


def load_prompt_dataset(train_set: Path, prompts: PromptSet, style: PromptStyle):
    """The parallel set as a TRL prompt dataset (columns prompt, answer, lang) for GRPO."""
    from datasets import Dataset

    frame = read_train_set(train_set, {"id", "lang", "question", "answer"})
    return Dataset.from_list(grpo_rows(frame.iter_rows(named=True), prompts, style))


def load_sft_dataset(train_set: Path, prompts: PromptSet, style: PromptStyle):
    """The parallel set as a TRL prompt-completion dataset: each language's own worked solution."""
    from datasets import Dataset

    frame = read_train_set(train_set, {"id", "lang", "question", "solution"})
    missing = frame.filter(pl.col("solution").is_null())
    if missing.height:
        first = missing.row(0, named=True)
        raise UserError(
            f"{train_set}: {missing.height} rows have no solution (e.g. id {first['id']}, lang {first['lang']}); "
            "the SFT arm needs worked solutions in every language (translation.openai.translate_solution)"
        )
    return Dataset.from_list(sft_rows(frame.iter_rows(named=True), prompts, style))


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


def _zip_ok(path: Path) -> bool:
    """torch.save writes a zip whose central directory comes last: a cut-off file fails this."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return bool(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def _safetensors_ok(path: Path) -> bool:
    """safetensors checks that the header's byte ranges fit the file (a cut-off file fails)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), "pt") as handle:
            handle.keys()
    except (OSError, SafetensorError):
        return False
    return True


def checkpoint_problem(checkpoint: Path) -> str | None:
    """Why `checkpoint` cannot be resumed from (None if its weights and trainer state are whole).

    A job killed while saving (a time limit during a minutes-long 7B save) leaves a folder
    with some files missing or cut off; Trainer writes trainer_state.json last.
    """
    try:
        state = json.loads((checkpoint / "trainer_state.json").read_text())
        int(state["global_step"])
    except (OSError, ValueError, KeyError, TypeError):
        return "trainer_state.json missing or cut off"
    index = next(
        (
            checkpoint / n
            for n in ("model.safetensors.index.json", "pytorch_model.bin.index.json")
            if (checkpoint / n).exists()
        ),
        None,
    )
    if index is not None:
        try:
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (OSError, ValueError, KeyError):
            return f"{index.name} cut off"
    else:
        shards = [
            n
            for n in ("model.safetensors", "pytorch_model.bin", "adapter_model.safetensors")
            if (checkpoint / n).exists()
        ][:1]
        if not shards and not any(checkpoint.glob("global_step*")):  # DeepSpeed keeps weights in global_step*/
            return "no model weights"
    for shard in shards:
        ok = _safetensors_ok if shard.endswith(".safetensors") else _zip_ok
        if not ok(checkpoint / shard):
            return f"{shard} missing or cut off"
    for name in ("optimizer.pt", "scheduler.pt"):
        if (checkpoint / name).exists() and not _zip_ok(checkpoint / name):
            return f"{name} cut off"
    return None


def _process_state() -> Any:
    """Accelerate's view of this process (rank, barrier); a plain single process without a launcher."""
    from accelerate import PartialState

    return PartialState()


def _checkpoints(work_dir: Path) -> list[tuple[int, Path]]:
    """`checkpoint-<step>` folders of `work_dir`, newest first."""
    import re

    names = (re.fullmatch(r"checkpoint-(\d+)", p.name) for p in work_dir.iterdir() if p.is_dir())
    return sorted(((int(m[1]), work_dir / m[0]) for m in names if m), reverse=True)


def prepare_work_dir(work_dir: Path, fingerprint: str) -> str | None:
    """The newest complete checkpoint to resume from, or None; every rank of a launch calls it.

    Only the main process changes the folder (removes checkpoints of other settings, moves
    incomplete ones aside); the others wait for it and then read the same answer, so ranks
    never race to delete what another is reading.
    """
    state = _process_state()
    resume = _tidy_work_dir(work_dir, fingerprint) if state.is_main_process else None
    state.wait_for_everyone()
    if not state.is_main_process:
        found = _checkpoints(work_dir)  # the main process left only complete ones
        resume = str(found[0][1]) if found else None
    return resume


def _tidy_work_dir(work_dir: Path, fingerprint: str) -> str | None:
    """Main process only: checkpoints of other settings are removed; incomplete ones (a kill
    during a save) are moved aside to `incomplete-checkpoint-*` with a log line, so the run
    resumes from the previous complete one instead of failing on every retry."""
    stamp = work_dir / "fingerprint.txt"
    if work_dir.is_dir() and (not stamp.exists() or stamp.read_text() != fingerprint):
        log.info("settings changed since the checkpoints in %s were written: starting over", work_dir)
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)
    for _, checkpoint in _checkpoints(work_dir):
        problem = checkpoint_problem(checkpoint)
        if problem is None:
            return str(checkpoint)
        aside = work_dir / f"incomplete-{checkpoint.name}"
        shutil.rmtree(aside, ignore_errors=True)
        checkpoint.rename(aside)
        log.warning(
            "checkpoint %s is incomplete (%s; killed while saving?): moved to %s, "
            "resuming from the previous complete one",
            checkpoint,
            problem,
            aside,
        )
    return None


def load_tokenizer(model_path: str, **kwargs: Any):
    """The model's tokenizer, loaded once and handed to the trainers explicitly (`processing_class`).

    Generation loads it the same way (`AutoTokenizer`), so training and evaluation tokenize alike.
    """
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path, **kwargs)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


#: Checkpointing defaults; config values override them.
CHECKPOINTING = {"logging_steps": 5, "save_strategy": "steps", "save_steps": 50, "save_total_limit": 2}


def summarize_history(history: list[dict[str, Any]], resumed_step: int | None) -> list[dict[str, Any]]:
    """log_history with a final summary that covers the whole run, also after a resume.

    Trainer's summary after a resume divides only the resumed steps' loss by all steps and
    times only the resumed session; here train_loss is the mean of every logged loss, and the
    timing keys say they cover the last session.
    """
    if not history or "train_runtime" not in history[-1] or not resumed_step:
        return history
    summary = dict(history[-1])
    losses = [h["loss"] for h in history[:-1] if "loss" in h]
    if losses:
        summary["train_loss_last_session"] = summary.get("train_loss")
        summary["train_loss"] = sum(losses) / len(losses)
    for key in ("train_runtime", "train_samples_per_second", "train_steps_per_second"):
        if key in summary:
            summary[f"{key}_last_session"] = summary.pop(key)
    runtime = summary.get("train_runtime_last_session")
    if runtime:
        summary["train_steps_per_second_last_session"] = round((summary["step"] - resumed_step) / runtime, 3)
    summary["resumed_from_step"] = resumed_step
    return [*history[:-1], summary]


def training_summary(trainer: Any, method: str, set_rows: int) -> dict[str, Any]:
    """How long a run trained, in the three units that make runs comparable: optimizer steps,
    passes over its parallel set (TRL's epoch count) and prompts seen (steps x prompts per step;
    a GRPO prompt comes with its num_generations completions)."""
    from pscale.training_length import grpo_shape

    args, world = trainer.args, trainer.accelerator.num_processes
    if method == "grpo":
        options = {
            "per_device_train_batch_size": args.per_device_train_batch_size,
            "num_generations": args.num_generations,
            "gradient_accumulation_steps": args.gradient_accumulation_steps,
            "num_iterations": args.num_iterations,
            "steps_per_generation": args.steps_per_generation,
        }
        per_step = grpo_shape(options, world)["prompts_per_step"]
    else:
        per_step = args.per_device_train_batch_size * world * args.gradient_accumulation_steps
    steps = int(trainer.state.global_step)
    return {
        "method": method,
        "steps": steps,
        "epochs": float(trainer.state.epoch or 0.0),
        "prompts_seen": steps * per_step,
        "prompts_per_step": per_step,
        "set_rows": set_rows,
        "world_size": world,
        "max_steps": args.max_steps if args.max_steps > 0 else None,
        "num_train_epochs": None if args.max_steps > 0 else args.num_train_epochs,
    }


def _reporting(options: dict[str, Any], output_dir: Path) -> dict[str, Any]:
    """TRL's `report_to` settings: the run named <model>/<run>, TensorBoard next to the model folder
    (the work folder, TRL's default, is deleted once the model is saved)."""
    report_to = options.get("report_to", "none")
    names = [report_to] if isinstance(report_to, str) else list(report_to)
    if "tensorboard" in names:
        os.environ.setdefault("TENSORBOARD_LOGGING_DIR", str(output_dir.with_name(f"{output_dir.name}.tensorboard")))
    return {"report_to": "none", "run_name": f"{output_dir.parent.name}/{output_dir.name}"}


def _train_and_save(
    trainer: Any, output_dir: Path, work_dir: Path, resume: str | None, method: str, set_rows: int
) -> None:
    from pscale.tables import write_json

    if resume:
        log.info("resuming from %s", resume)
    trainer.train(resume_from_checkpoint=resume)
    resumed_step = int(Path(resume).name.rsplit("-", 1)[1]) if resume else None
    # Under `accelerate launch` every rank runs this. save_model must be called on all of them
    # (ZeRO-3 gathers the sharded weights; only the main process writes), but the folder
    # moves, the tokenizer, the log and the clean-up are the main process's alone, each after
    # a barrier: otherwise a fast rank deletes the checkpoints while rank 0 still writes.
    accelerator = trainer.accelerator
    main = trainer.is_world_process_zero()
    # Everything goes to a temporary sibling folder, renamed into place when complete.
    staging = output_dir.with_name(f".{output_dir.name}.saving")
    if main:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
    accelerator.wait_for_everyone()
    trainer.save_model(str(staging))
    accelerator.wait_for_everyone()
    if main:
        trainer.processing_class.save_pretrained(staging)
        write_json(summarize_history(trainer.state.log_history, resumed_step), staging / "log_history.json", indent=1)
        from pscale.training_length import TRAINING_SUMMARY

        write_json(training_summary(trainer, method, set_rows), staging / TRAINING_SUMMARY, indent=1)
        shutil.rmtree(output_dir, ignore_errors=True)
        staging.rename(output_dir)
        shutil.rmtree(work_dir)  # checkpoints only serve an interrupted run; a 7B one is tens of GB
    accelerator.wait_for_everyone()


def grpo_generation_kwargs(grpo_options: dict[str, Any], stops: Stops) -> dict[str, Any]:
    """TRL's `generation_kwargs` with the model's stops (pscale.generation.stops): vLLM's
    SamplingParams `stop_token_ids`, or transformers' `eos_token_id`. TRL itself stops only at the
    tokenizer's EOS and generation_config.json's ids, which for a base checkpoint prompted with
    ChatML are `<|endoftext|>`, not the `<|im_end|>` that ends its turn. Keys the config sets win."""
    key = "stop_token_ids" if grpo_options.get("use_vllm") else "eos_token_id"
    return {key: list(stops.token_ids), **(grpo_options.get("generation_kwargs") or {})}


def stop_completions_at(trainer: Any, stops: Stops) -> None:
    """Make the trainer's completion mask (and its clipped-ratio metric) end at the same stops as
    generation: TRL builds that list from the EOS ids alone when it is constructed."""
    if not isinstance(getattr(trainer, "eos_token_ids", None), list):
        raise RuntimeError("trl.GRPOTrainer has no eos_token_ids list: TRL changed; update stop_completions_at")
    trainer.eos_token_ids = list(dict.fromkeys([*trainer.eos_token_ids, *stops.token_ids]))


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
    scoring: dict[str, Any] | None = None,
) -> None:
    """Stage entry point: GRPO on `train_set`, final model saved to `output_dir`.

    `scoring` (the config's `scoring` section) makes the rewards grade as evaluation does."""
    from trl import GRPOConfig, GRPOTrainer

    set_threads(threads)
    style = style or PromptStyle()
    dataset = load_prompt_dataset(train_set, PromptSet.from_file(prompt_file), style)
    funcs, weights = reward_functions(reward_weights, languages, scoring)
    # GRPO generates from left-padded prompts and keeps a prompt's end when truncating.
    tokenizer = load_tokenizer(model_path, padding_side="left", truncation_side="left")
    stops = stops_for(tokenizer, generation_eos_ids(model_path))
    options = {**grpo_options, "generation_kwargs": grpo_generation_kwargs(grpo_options, stops)}
    args = GRPOConfig(
        **{**_reporting(grpo_options, output_dir), **training_precision(), **CHECKPOINTING, **options},
        output_dir=str(work_dir),
        reward_weights=weights,
    )
    settings = {
        "grpo": grpo_options,
        "reward_weights": reward_weights,
        "languages": languages,
        "style": str(style),
        "scoring": scoring,
    }
    resume = prepare_work_dir(work_dir, run_fingerprint(model_path, train_set, prompt_file, settings))
    trainer = GRPOTrainer(
        model=model_path,
        reward_funcs=funcs,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    stop_completions_at(trainer, stops)
    from pscale.preemption import stop_on_signal

    with stop_on_signal(trainer):  # SIGURG/USR1/TERM: checkpoint at the step end, exit 75; a retry resumes
        _train_and_save(trainer, output_dir, work_dir, resume, "grpo", len(dataset))


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
        **{**_reporting(sft_options, output_dir), **training_precision(), **CHECKPOINTING, **sft_options},
        output_dir=str(work_dir),
    )
    settings = {"sft": sft_options, "style": str(style)}
    resume = prepare_work_dir(work_dir, run_fingerprint(model_path, train_set, prompt_file, settings))
    trainer = SFTTrainer(
        model=model_path, args=args, train_dataset=dataset, processing_class=load_tokenizer(model_path)
    )
    from pscale.preemption import stop_on_signal

    with stop_on_signal(trainer):  # SIGURG/USR1/TERM: checkpoint at the step end, exit 75; a retry resumes
        _train_and_save(trainer, output_dir, work_dir, resume, "sft", len(dataset))
