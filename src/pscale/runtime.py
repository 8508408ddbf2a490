"""Device and precision choices shared by the training and generation stages.

On a CPU node TRL needs `use_cpu=True` and `bf16=False`; on a GPU node bf16 is the norm.
Deciding this in one place keeps the demo and the paper-scale runs on the same code path.
"""

from __future__ import annotations

import logging
from typing import Any


def set_threads(threads: int) -> None:
    """Pin torch's intra-op threads to what the scheduler gave this job."""
    import torch

    torch.set_num_threads(max(1, threads))


def has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def training_precision() -> dict[str, Any]:
    """TrainingArguments fields for this machine."""
    if has_cuda():
        import torch

        return {"bf16": torch.cuda.is_bf16_supported(), "use_cpu": False}
    return {"bf16": False, "use_cpu": True, "gradient_checkpointing": False}


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
