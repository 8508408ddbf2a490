"""Every evaluation prompt fits its model's context, checked on CPU before any generation job.

vLLM refuses a prompt longer than `max_model_len` only on the GPU node, and fails the whole job
there (every benchmark of that model and run, each retry). A long Thai or Telugu GPQA question
tokenises into several times the English count, so whether the prompts fit depends on the
model's tokenizer and the languages. This stage renders every prompt of every benchmark and
language exactly as generation does (pscale.prompts, the chat template), tokenises it with each
model's own tokenizer and compares the count with the room the model's settings leave:
`max_model_len` (else the model's max_position_embeddings) minus `max_new_tokens`.

One check per initial model covers its own settings and those of every observational model based
on it (their runs are compared with its initial model). A prompt that does not fit stops the run
naming it (`evaluation.too_long: fail`), or (`drop`) its problem is left out of every language of
that benchmark for all of that model's runs, so the comparisons stay paired, and is listed in the
dropped table.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pscale.errors import UserError
from pscale.prompts import Prompt, PromptSet, PromptStyle

log = logging.getLogger(__name__)

# The lengths table (one row per run setting x benchmark x problem x language): these columns, then
# `fits` (tokens <= room, or no room known).
_SCHEMA = {"run": pl.String, "benchmark": pl.String, "id": pl.String, "lang": pl.String}
_SCHEMA |= {"tokens": pl.Int64, "room": pl.Int64}
#: Columns of the dropped table (one row per benchmark problem left out, with its longest prompt).
DROPPED_COLUMNS = ("benchmark", "id", "run", "lang", "tokens", "room")


@dataclass(frozen=True)
class RunSetting:
    """How one kind of run of the model is prompted and how much context it may use."""

    run: str
    model_path: str
    style: PromptStyle
    max_new_tokens: int
    max_model_len: int | None

    @classmethod
    def from_options(cls, model_path: str, options: dict[str, Any], format_prompt: bool) -> RunSetting:
        """`options`: {run, chat_template, system_prompt, evaluation} (the merged evaluation settings)."""
        evaluation = options["evaluation"]
        style = PromptStyle(
            chat=options.get("chat_template", "auto") != "none",
            system_prompt=options.get("system_prompt"),
            force_language=evaluation["force_language"],
            format_prompt=format_prompt,
        )
        limit = (evaluation.get("vllm") or {}).get("max_model_len")
        return cls(options["run"], model_path, style, evaluation["max_new_tokens"], limit)


def prompt_tokens(tokenizer: Any, prompts: Sequence[Prompt]) -> list[int]:
    """Token counts of prompts as the engines see them: chat messages through the chat template
    with the generation prompt (no extra special tokens), plain text as the tokenizer encodes it."""
    counts = []
    for prompt in prompts:
        if isinstance(prompt, str):
            counts.append(len(tokenizer(prompt)["input_ids"]))
        else:
            text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
            counts.append(len(tokenizer(text, add_special_tokens=False)["input_ids"]))
    return counts


def prompt_room(setting: RunSetting) -> int | None:
    """Tokens left for a prompt: the context (max_model_len, else max_position_embeddings) minus
    max_new_tokens; None when neither context is known (nothing to check against)."""
    from pscale.models import _model_config, context_length

    context = setting.max_model_len or context_length(_model_config(setting.model_path) or {})
    return None if context is None else context - setting.max_new_tokens


def measure(settings: Sequence[RunSetting], benchmarks: dict[str, pl.DataFrame], prompts: PromptSet) -> pl.DataFrame:
    """The lengths table: every prompt of every benchmark and language, for every run setting."""
    from transformers import AutoTokenizer

    frames = []
    for setting in settings:
        tokenizer = AutoTokenizer.from_pretrained(setting.model_path)
        room = prompt_room(setting)
        if room is not None and room <= 0:
            raise UserError(
                f"{setting.run} ({setting.model_path}): max_new_tokens {setting.max_new_tokens} leaves no room for a "
                f"prompt in its {room + setting.max_new_tokens}-token context; lower max_new_tokens or raise "
                "max_model_len in the model's `evaluation` block"
            )
        if room is None:
            log.warning("%s: no max_model_len and no max_position_embeddings: prompts not checked", setting.run)
        for name, items in benchmarks.items():
            rows = list(items.iter_rows(named=True))
            texts = [prompts.prompt(r["question"], r["lang"], setting.style, r["choices"]) for r in rows]
            tokens = prompt_tokens(tokenizer, texts)
            frames.append(
                pl.DataFrame(
                    {
                        "run": [setting.run] * len(rows),
                        "benchmark": [name] * len(rows),
                        "id": [r["id"] for r in rows],
                        "lang": [r["lang"] for r in rows],
                        "tokens": tokens,
                        "room": [room] * len(rows),
                    },
                    schema=_SCHEMA,
                )
            )
        log.info("%s: longest prompt %d tokens, room %s", setting.run, max(f["tokens"].max() for f in frames), room)
    lengths = pl.concat(frames)
    return lengths.with_columns(fits=pl.col("room").is_null() | (pl.col("tokens") <= pl.col("room")))


def dropped_items(lengths: pl.DataFrame) -> pl.DataFrame:
    """One row per (benchmark, problem) with a prompt that does not fit: its longest such prompt."""
    too_long = lengths.filter(~pl.col("fits"))
    return (
        too_long.sort("tokens", descending=True)
        .unique(["benchmark", "id"], keep="first", maintain_order=True)
        .select(DROPPED_COLUMNS)
        .sort("benchmark", "id")
    )


def load_questions(files: list[Path]) -> pl.DataFrame:
    """Every language of one benchmark: what a prompt is made of (id, lang, question, choices).
    Answers are not read: a bad answer is generation's and scoring's to name."""
    from pscale.tables import read_table

    frames = []
    for path in files:
        frame = read_table(
            path,
            {"id": "string", "lang": "string", "question": "string"},
            non_empty=("id", "lang", "question"),
            what="benchmark file",
        )
        choices = frame["choices"] if "choices" in frame.columns else pl.Series([None] * frame.height)
        frames.append(
            frame.select("id", "lang", "question").with_columns(pl.Series("choices", choices, dtype=pl.List(pl.String)))
        )
    return pl.concat(frames, how="vertical")


def check_prompts(
    model_name: str,
    settings: Sequence[RunSetting],
    benchmarks: dict[str, list[Path]],
    prompt_file: Path,
    too_long: str,
    lengths_out: Path,
    dropped_out: Path,
) -> pl.DataFrame:
    """Stage entry point: write the lengths table and the dropped table; stop on a prompt that
    does not fit unless `too_long` is `drop`. Returns the dropped table."""
    from pscale.tables import write_csv, write_parquet

    loaded = {name: load_questions(files) for name, files in benchmarks.items()}
    lengths = measure(settings, loaded, PromptSet.from_file(prompt_file))
    dropped = dropped_items(lengths)
    if dropped.height and too_long != "drop":
        first = dropped.row(0, named=True)
        raise UserError(
            f"model {model_name} ({first['run']}): prompt too long: dataset {first['benchmark']}, language "
            f"{first['lang']}, id {first['id']}: {first['tokens']} tokens, limit {first['room']} (max_model_len "
            f"minus max_new_tokens; {dropped.height} problems in all); raise max_model_len or lower max_new_tokens "
            "in the model's `evaluation` block, or set evaluation.too_long: drop to leave such problems out of "
            "every language (listed in the dropped table)"
        )
    if dropped.height:
        log.warning(
            "model %s: %d problems left out of every language (their prompts do not fit): %s",
            model_name,
            dropped.height,
            ", ".join(f"{b}/{i}" for b, i in dropped.select("benchmark", "id").iter_rows()),
        )
    write_parquet(lengths, lengths_out)
    write_csv(dropped, dropped_out)
    return dropped


def read_dropped(path: Path) -> dict[str, set[str]]:
    """benchmark -> ids to leave out, from a dropped table (check_prompts' CSV)."""
    frame = pl.read_csv(path, schema_overrides={"id": pl.String, "benchmark": pl.String})
    missing = {"benchmark", "id"} - set(frame.columns)
    if missing:
        raise UserError(f"{path}: not a dropped-prompts table (no column {sorted(missing)})")
    out: dict[str, set[str]] = {}
    for benchmark, pid in frame.select("benchmark", "id").iter_rows():
        out.setdefault(benchmark, set()).add(pid)
    return out
