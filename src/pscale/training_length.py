"""How long a training run is, in steps, passes over its set and prompts seen, as TRL counts them.

Shared by the train stage (it writes `training.json` next to each model; runs.csv reads it) and
`pscale plan` (which predicts the same numbers from the config). Kept apart from both so that an
edit to the plan's throughput tables never changes the train stage's code version (and retrains).
"""

from __future__ import annotations

import math
from typing import Any

#: The file next to each trained model that says how long it trained (runs.csv: steps, epochs, prompts_seen).
TRAINING_SUMMARY = "training.json"


def grpo_shape(grpo: dict[str, Any], world: int) -> dict[str, int]:
    """Prompts per generation round and per optimizer step, and steps per round (TRL's GRPO sampler)."""
    per_device, generations = grpo["per_device_train_batch_size"], grpo["num_generations"]
    accumulation = grpo.get("gradient_accumulation_steps") or 1
    iterations = grpo.get("num_iterations") or 1
    if grpo.get("generation_batch_size"):
        per_round = grpo["generation_batch_size"] // generations
        rounds_steps = grpo["generation_batch_size"] // (per_device * world)
    else:
        rounds_steps = grpo.get("steps_per_generation") or accumulation
        per_round = per_device * world * rounds_steps // generations
    return {
        "prompts_per_round": max(1, per_round),
        "completions_per_step": per_device * world * accumulation,
        "prompts_per_step": max(1, per_device * world * accumulation // (generations * iterations)),
        "steps_per_round": max(1, rounds_steps * iterations // accumulation),
    }


def training_steps(options: dict[str, Any], method: str, rows: int, world: int) -> tuple[int, float, int]:
    """(optimizer steps, passes over the set, prompts seen) of one run, as TRL would count them."""
    if method == "grpo":
        shape = grpo_shape(options, world)
        steps_per_epoch = max(1, rows // shape["prompts_per_round"]) * shape["steps_per_round"]
        per_step = shape["prompts_per_step"]
    else:
        batch = options["per_device_train_batch_size"] * world
        accumulation = options.get("gradient_accumulation_steps") or 1
        steps_per_epoch = max(1, math.ceil(math.ceil(rows / batch) / accumulation))
        per_step = batch * accumulation
    epochs_set = options.get("num_train_epochs")
    max_steps = options.get("max_steps")
    if max_steps is not None and max_steps > 0:
        steps = int(max_steps)
    else:
        steps = math.ceil(float(epochs_set if epochs_set is not None else 3.0) * steps_per_epoch)
    prompts = steps * per_step
    return steps, prompts / rows, prompts
