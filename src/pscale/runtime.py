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


def require_gpus(count: int, what: str = "this job") -> None:
    """Stop at once, in one sentence, when the scheduler gave GPUs but torch cannot use them.

    torch reports no GPU (not an error) when the driver is older than its CUDA build or the
    allocation hides the devices; without this check the job would silently train a 7B model
    with CPU settings until its time limit.
    """
    if count <= 0:
        return
    import os

    import torch

    from pscale.errors import UserError

    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if visible < count:
        raise UserError(
            f"{what} was given {count} GPU(s) (config resources.<family>.gpu) but torch {torch.__version__} "
            f"(CUDA {torch.version.cuda or 'none'}) can use {visible} (CUDA_VISIBLE_DEVICES="
            f"{os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}); check the node's driver against the torch "
            "build and the job's GPU allocation, or set that `gpu` to 0 to run on CPU"
        )


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
