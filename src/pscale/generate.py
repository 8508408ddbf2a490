"""Generation for evaluation: one model load, every language of a benchmark in one pass.

Loading a 7B model costs minutes, so a job loads it once and generates for all languages
and all samples. The engines (pscale.generation) share one interface
(`GenerationBackend.generate`): transformers runs anywhere (the demo's CPU path); vLLM is the
GPU path.

A job that generates several benchmarks (one engine start) writes each benchmark's output as it
finishes and calls `on_finished`: the stage (`pscale generate`) records its receipt then
(pscale.receipts), so a retry of the job (a time limit, a node failure) adopts the finished
benchmarks and generates only the others. Problems
whose prompts do not fit the context (pscale.prompt_check, `evaluation.too_long: drop`) are left
out of every language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from pscale.errors import UserError
from pscale.generation.base import GenerationBackend, SamplingOptions
from pscale.prompts import PromptSet, PromptStyle
from pscale.runtime import set_threads

log = logging.getLogger(__name__)

#: Columns of a generations file (one row per prompt x sample); n_choices is 0 for math
#: items and the number of options for multiple choice (graded by letter); choices
#: (list[str], null for math) are the option texts as the prompt showed them, in the query
#: language, so that scoring can read a box that holds an option's text instead of its letter.
GENERATION_COLUMNS = ("id", "lang", "sample", "answer", "n_choices", "prompt", "response", "choices")


def start_engine(
    model_path: str,
    options: SamplingOptions,
    backend: str = "transformers",
    revision: str | None = None,
    engine_options: dict[str, Any] | None = None,
) -> GenerationBackend:
    """The engine `backend` (transformers or vllm), loaded; vLLM after the context check (it refuses a
    too-long context only after loading)."""
    if backend == "transformers":
        from pscale.generation.hf import TransformersBackend

        return TransformersBackend(model_path, revision)
    if backend == "vllm":
        from pscale.generation.vllm import VLLMBackend
        from pscale.models import check_context

        check_context(model_path, engine_options, options.max_new_tokens, revision)
        return VLLMBackend(model_path, revision, **(engine_options or {}))
    raise UserError(f"unknown generation backend '{backend}' (choose transformers or vllm)")


def generate_benchmarks(
    model_path: str,
    benchmarks: list[tuple[list[Path], Path]],
    prompt_file: Path,
    options: SamplingOptions,
    backend: str = "transformers",
    revision: str | None = None,
    style: PromptStyle | None = None,
    engine_options: dict[str, Any] | None = None,
    threads: int = 1,
    dropped: dict[str, set[str]] | None = None,
    on_finished: Callable[[Path], None] | None = None,
) -> list[pl.DataFrame]:
    """Several benchmarks with one engine start ((files, output) each): a 7B vLLM start takes
    minutes, as long as all of AIME. Each benchmark is sampled as in a job of its own (the
    seed is set per generate call), so grouping does not change the responses.

    Each output is written as its benchmark finishes, then `on_finished(output)` is called (the
    stage keeps a receipt of it: a retry adopts it). `dropped`: benchmark (its output's file
    name) -> ids to leave out.
    """
    set_threads(threads)
    dropped = dropped or {}
    engine = start_engine(model_path, options, backend, revision, engine_options) if benchmarks else None
    frames = []
    for files, output in benchmarks:
        frames.append(
            generate_benchmark(
                model_path,
                files,
                prompt_file,
                output,
                options,
                backend,
                revision,
                style,
                engine_options,
                threads,
                engine=engine,
                dropped=dropped.get(output.stem, set()),
            )
        )
        if on_finished is not None:
            on_finished(output)
    return frames


def load_benchmark(files: list[Path]) -> pl.DataFrame:
    """All languages of one benchmark, concatenated (one translated file per language)."""
    from pscale.tables import read_table

    frames = []
    for path in files:
        frame = read_table(
            path,
            {"id": "string", "lang": "string", "question": "string", "answer": "string"},
            non_empty=("id", "lang", "question", "answer"),
            what="benchmark file",
            min_rows=1,
        )
        choices = frame["choices"] if "choices" in frame.columns else pl.Series([None] * frame.height)
        frames.append(
            frame.select("id", "lang", "question", "answer").with_columns(
                pl.Series("choices", choices, dtype=pl.List(pl.String))
            )
        )
    return pl.concat(frames, how="vertical")


def generate_benchmark(
    model_path: str,
    benchmark_files: list[Path],
    prompt_file: Path,
    output: Path,
    options: SamplingOptions,
    backend: str = "transformers",
    revision: str | None = None,
    style: PromptStyle | None = None,
    engine_options: dict[str, Any] | None = None,
    threads: int = 1,
    engine: GenerationBackend | None = None,
    dropped: set[str] | None = None,
) -> pl.DataFrame:
    """Stage entry point: writes one row per (question, language, sample) to `output`.

    `engine`: an engine already started (generate_benchmarks starts one for several benchmarks).
    `dropped`: ids left out of every language (prompts too long for the context).
    """
    set_threads(threads)
    style = style or PromptStyle()
    items = load_benchmark(benchmark_files)
    if dropped:
        items = items.filter(~pl.col("id").is_in(sorted(dropped)))
        log.info("%d problems left out of every language: prompts too long (pscale check-prompts)", len(dropped))
    prompt_set = PromptSet.from_file(prompt_file)
    prompts = [prompt_set.prompt(r["question"], r["lang"], style, r["choices"]) for r in items.iter_rows(named=True)]
    log.info("generating %d x %d responses with %s", len(prompts), options.n_samples, backend)
    engine = engine or start_engine(model_path, options, backend, revision, engine_options)
    responses = engine.generate(prompts, options)
    rows = [
        {
            "id": item["id"],
            "lang": item["lang"],
            "sample": k,
            "answer": item["answer"],
            "n_choices": len(item["choices"] or []),
            "prompt": prompt if isinstance(prompt, str) else prompt[-1]["content"],
            "response": response,
            "choices": item["choices"] or None,
        }
        for item, prompt, samples in zip(items.iter_rows(named=True), prompts, responses, strict=True)
        for k, response in enumerate(samples)
    ]
    integer_columns = {"sample", "n_choices"}
    types = {c: pl.Int64 if c in integer_columns else pl.String for c in GENERATION_COLUMNS}
    frame = pl.DataFrame(rows, schema={**types, "choices": pl.List(pl.String)})
    from pscale.tables import write_parquet

    write_parquet(frame, output)  # atomic: a killed run leaves no file that looks complete
    return frame
