"""Generation for evaluation: one model load, every language of a benchmark in one pass.

Loading a 7B model costs minutes, so a job loads it once and generates for all languages
and all samples. The engines (pscale.generation) share one interface
(`GenerationBackend.generate`): transformers runs anywhere (the demo's CPU path); vLLM is the
GPU path.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import polars as pl

from pscale.errors import UserError
from pscale.generation.base import GenerationBackend, SamplingOptions
from pscale.prompts import PromptSet, PromptStyle
from pscale.runtime import set_threads

log = logging.getLogger(__name__)

#: Columns of a generations file (one row per prompt x sample); n_choices is 0 for math
#: items and the number of options for multiple choice (graded by letter).
GENERATION_COLUMNS = ("id", "lang", "sample", "answer", "n_choices", "prompt", "response")


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
) -> list[pl.DataFrame]:
    """Several benchmarks with one engine start ((files, output) each): a 7B vLLM start takes
    minutes, as long as all of AIME. Each benchmark is sampled as in a job of its own (the
    seed is set per generate call), so grouping does not change the responses."""
    set_threads(threads)
    engine = start_engine(model_path, options, backend, revision, engine_options)
    return [
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
        )
        for files, output in benchmarks
    ]


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
) -> pl.DataFrame:
    """Stage entry point: writes one row per (question, language, sample) to `output`.

    `engine`: an engine already started (generate_benchmarks starts one for several benchmarks).
    """
    set_threads(threads)
    style = style or PromptStyle()
    items = load_benchmark(benchmark_files)
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
        }
        for item, prompt, samples in zip(items.iter_rows(named=True), prompts, responses, strict=True)
        for k, response in enumerate(samples)
    ]
    integer_columns = {"sample", "n_choices"}
    frame = pl.DataFrame(rows, schema={c: pl.Int64 if c in integer_columns else pl.String for c in GENERATION_COLUMNS})
    from pscale.tables import write_parquet

    write_parquet(frame, output)  # atomic: a killed run leaves no file that looks complete
    return frame
