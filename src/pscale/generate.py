"""Generation for evaluation: one model load, every language of a benchmark in one pass.

Loading a 7B model costs minutes, so a job loads it once and generates for all languages
and all samples. Backends share one interface (`GenerationBackend.generate`): the
transformers backend runs anywhere (the demo's CPU path); the vLLM backend is the GPU path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import polars as pl
from tqdm.auto import tqdm

from pscale.prompts import Prompt, PromptSet, PromptStyle
from pscale.runtime import has_cuda, set_threads

log = logging.getLogger(__name__)

#: Columns of a generations file (one row per prompt x sample); n_choices is 0 for math
#: items and the number of options for multiple choice (graded by letter).
GENERATION_COLUMNS = ("id", "lang", "sample", "answer", "n_choices", "prompt", "response")


@dataclass(frozen=True)
class SamplingOptions:
    """The sampling settings of `evaluation` in the config, fixed per evaluation job."""

    n_samples: int
    temperature: float
    top_p: float
    max_new_tokens: int
    seed: int
    batch_size: int = 64

    @classmethod
    def from_config(cls, evaluation: dict[str, Any]) -> SamplingOptions:
        return cls(
            n_samples=evaluation["n_samples"],
            temperature=evaluation["temperature"],
            top_p=evaluation["top_p"],
            max_new_tokens=evaluation["max_new_tokens"],
            seed=evaluation["seed"],
            batch_size=evaluation.get("batch_size", 64),
        )


class GenerationBackend(Protocol):
    """Turns chat prompts into `n_samples` responses each."""

    def generate(self, prompts: list[Prompt], options: SamplingOptions) -> list[list[str]]: ...


class TransformersBackend:
    """Batched `model.generate` with left padding; CPU or a single GPU."""

    def __init__(self, model_path: str, revision: str | None = None) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_path, revision=revision)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        dtype = torch.bfloat16 if has_cuda() else torch.float32
        self.model = AutoModelForCausalLM.from_pretrained(model_path, revision=revision, dtype=dtype)
        self.model.to("cuda" if has_cuda() else "cpu").eval()

    def generate(self, prompts: list[Prompt], options: SamplingOptions) -> list[list[str]]:
        import torch

        torch.manual_seed(options.seed)
        template = self.tokenizer.apply_chat_template
        texts = [p if isinstance(p, str) else template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
        sampling = options.temperature > 0
        outputs: list[list[str]] = []
        for start in tqdm(range(0, len(texts), options.batch_size), desc="generate", unit="batch"):
            batch = self.tokenizer(
                texts[start : start + options.batch_size],
                return_tensors="pt",
                padding=True,
                add_special_tokens=False,
            ).to(self.model.device)
            with torch.inference_mode():
                generated = self.model.generate(
                    **batch,
                    do_sample=sampling,
                    temperature=options.temperature if sampling else None,
                    top_p=options.top_p if sampling else None,
                    top_k=None,
                    max_new_tokens=options.max_new_tokens,
                    num_return_sequences=options.n_samples,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new_tokens = generated[:, batch["input_ids"].shape[1] :]
            decoded = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            for i in range(0, len(decoded), options.n_samples):
                outputs.append([d.strip() for d in decoded[i : i + options.n_samples]])
        return outputs


def make_backend(
    name: str, model_path: str, revision: str | None = None, engine_options: dict[str, Any] | None = None
) -> GenerationBackend:
    if name == "transformers":
        return TransformersBackend(model_path, revision)
    if name == "vllm":
        from pscale.vllm_backend import VLLMBackend

        return VLLMBackend(model_path, revision, **(engine_options or {}))
    raise ValueError(f"unknown generation backend '{name}' (choose transformers or vllm)")


def start_engine(
    model_path: str, options: SamplingOptions, backend: str = "transformers", revision: str | None = None,
    engine_options: dict[str, Any] | None = None,
) -> GenerationBackend:
    """The backend, after the context check (vLLM refuses a too-long context only after loading)."""
    if backend == "vllm":
        from pscale.models import check_context

        check_context(model_path, engine_options, options.max_new_tokens, revision)
    return make_backend(backend, model_path, revision, engine_options)


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
        generate_benchmark(model_path, files, prompt_file, output, options, backend, revision, style, engine_options,
                           threads, engine=engine)
        for files, output in benchmarks
    ]


def load_benchmark(files: list[Path]) -> pl.DataFrame:
    """All languages of one benchmark, concatenated (one translated file per language)."""
    from pscale.tables import read_table

    frames = []
    for path in files:
        frame = read_table(
            path, {"id": "string", "lang": "string", "question": "string", "answer": "string"},
            non_empty=("id", "lang", "question", "answer"), what="benchmark file",
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
    prompts = [
        prompt_set.prompt(r["question"], r["lang"], style, r["choices"]) for r in items.iter_rows(named=True)
    ]
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
    frame = pl.DataFrame(
        rows, schema={c: pl.Int64 if c in integer_columns else pl.String for c in GENERATION_COLUMNS}
    )
    from pscale.tables import write_parquet

    write_parquet(frame, output)  # atomic: a killed run leaves no file that looks complete
    return frame
