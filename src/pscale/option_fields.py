"""Field names and allowed values of the option blocks the config hands to other libraries.

`training.grpo`/`training.sft` become `trl.GRPOConfig`/`trl.SFTConfig` and `evaluation.vllm`
becomes `vllm.LLM(...)` keyword arguments. A typo there used to pass validation and fail only
inside the job, after Snakemake had deleted the run's finished model. Importing trl takes
seconds (and vllm exists only on GPU nodes), so the config check reads these names from
option_fields.json, shipped next to this module and written from the installed packages by
scripts/option_fields.py (tests/test_faults.py fails when it is out of date). No import of
trl or vllm here: every stage's environment imports this module (through the config check).
"""

from __future__ import annotations

import json
from pathlib import Path

#: The data file, shipped in the package (pyproject.toml package-data).
DATA_PATH = Path(__file__).with_name("option_fields.json")
_DATA = json.loads(DATA_PATH.read_text(encoding="utf-8"))

#: trl.GRPOConfig init fields.
GRPO_FIELDS: frozenset[str] = frozenset(_DATA["grpo_fields"])
#: trl.SFTConfig init fields.
SFT_FIELDS: frozenset[str] = frozenset(_DATA["sft_fields"])
#: vllm.EngineArgs fields plus vllm.LLM's own keyword arguments.
VLLM_FIELDS: frozenset[str] = frozenset(_DATA["vllm_fields"])
#: option -> allowed values, per options block (`training.grpo`, `training.sft`).
GRPO_VALUES: dict[str, frozenset[str]] = {name: frozenset(values) for name, values in _DATA["grpo_values"].items()}
SFT_VALUES: dict[str, frozenset[str]] = {name: frozenset(values) for name, values in _DATA["sft_values"].items()}
