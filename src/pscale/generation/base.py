"""What every generation engine shares: the sampling settings of a job and the engine interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pscale.prompts import Prompt


@dataclass(frozen=True)
class SamplingOptions:
    """The sampling settings of `evaluation` in the config (validated), fixed per evaluation job."""

    n_samples: int
    temperature: float
    top_p: float
    max_new_tokens: int
    seed: int
    batch_size: int
    #: Stop strings besides the end-of-turn token and the EOS (config `stop`; pscale.generation.stops).
    stop: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, evaluation: dict[str, Any]) -> SamplingOptions:
        return cls(
            n_samples=evaluation["n_samples"],
            temperature=evaluation["temperature"],
            top_p=evaluation["top_p"],
            max_new_tokens=evaluation["max_new_tokens"],
            seed=evaluation["seed"],
            batch_size=evaluation["batch_size"],
            stop=tuple(evaluation["stop"]),
        )


class GenerationBackend(Protocol):
    """Turns chat prompts into `n_samples` responses each."""

    def generate(self, prompts: list[Prompt], options: SamplingOptions) -> list[list[str]]: ...
