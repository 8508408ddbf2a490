"""The vLLM generation engine (GPU): offline `LLM.chat` with explicit sampling settings.

Kept thin on purpose: everything but the engine call (prompts, stops, output schema, scoring)
is shared with the transformers backend and tested on CPU. Sampling is set explicitly and
`generation_config="vllm"` stops vLLM from silently applying a model's own
generation_config.json defaults, so every model is sampled the same way; the stops
(pscale.generation.stops: end-of-turn token, the EOS ids of the tokenizer and of
generation_config.json, configured stop strings) are passed explicitly for the same reason.
"""

from __future__ import annotations

from typing import Any

from pscale.generation.base import SamplingOptions
from pscale.generation.stops import Stops, generation_eos_ids, stops_for
from pscale.prompts import Prompt


def sampling_kwargs(options: SamplingOptions, stops: Stops) -> dict[str, Any]:
    """Arguments of vllm.SamplingParams for one evaluation job (tested on CPU; vLLM needs a GPU)."""
    return {
        "n": options.n_samples,
        "temperature": options.temperature,
        "top_p": options.top_p,
        "max_tokens": options.max_new_tokens,
        "seed": options.seed,
        "stop_token_ids": list(stops.token_ids),
        "stop": list(stops.strings) or None,
    }


class VLLMBackend:
    """`engine_kwargs` are config `evaluation.vllm` (tensor_parallel_size, gpu_memory_utilization, ...)."""

    def __init__(self, model_path: str, revision: str | None = None, **engine_kwargs: object) -> None:
        from vllm import LLM

        self.llm = LLM(model=model_path, revision=revision, generation_config="vllm", **engine_kwargs)
        self.generation_eos = generation_eos_ids(model_path, revision)

    def generate(self, prompts: list[Prompt], options: SamplingOptions) -> list[list[str]]:
        from vllm import SamplingParams

        stops = stops_for(self.llm.get_tokenizer(), self.generation_eos, options.stop)
        params = SamplingParams(**sampling_kwargs(options, stops))
        if all(isinstance(p, str) for p in prompts):  # base models: no chat template
            outputs = self.llm.generate(prompts, params, use_tqdm=True)
        else:
            outputs = self.llm.chat(prompts, params, use_tqdm=True)
        return [[c.text.strip() for c in out.outputs] for out in outputs]
