"""Run naming: what the workflow calls each evaluated model, and the facts a name stands for.

A run's name is a label (its folder under models/ and eval/): `init`, the initial model;
<method>-<budget>-x<X>-s<seed> (`run_id`), a trained one, where the method of an ablation
(config `training.ablations`) is <trainer>_<ablation>, e.g. grpo_nolang; obs-<name>, an off-the-shelf
model. What a run is (method, budget, number of training languages, seed) travels beside its name as a `Run`,
made where the name is made (the workflow's common.smk, from the config) and handed to
`pscale tables` as its --run-facts: nothing parses a name back into its facts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from pscale.errors import UserError

INIT_RUN = "init"
#: The `seed` value of rows pooled over training seeds (the headline rows; the only rows of
#: the initial and observational models, and of trained runs with a single seed).
POOLED = "all"
#: Runs of off-the-shelf reasoning models (config `observational`), e.g. obs-r1-distill.
OBSERVATIONAL_PREFIX = "obs-"
#: An ablation's name (config `training.ablations`), the part after the trainer in its method label.
ABLATION_PATTERN = "[a-z][a-z0-9]*"
_METHOD, BUDGET_PATTERN, _OBSERVED_NAME = rf"[a-z]+(?:_{ABLATION_PATTERN})?", "grow|fixed", "[a-z0-9._-]+"
#: Every evaluated run's name, as a regular expression without groups (the workflow's `run`
#: wildcard): init, <method>-<budget>-x<X>-s<seed> (run_id), obs-<name>.
RUN_PATTERN = rf"{INIT_RUN}|{_METHOD}-(?:{BUDGET_PATTERN})-x[0-9]+-s[0-9]+|{OBSERVATIONAL_PREFIX}{_OBSERVED_NAME}"


def run_id(method: str, budget: str, x: int, seed: int | None = None) -> str:
    """The name of a trained model: e.g. grpo-grow-x3-s0 (seed 0); without a seed, its training set."""
    base = f"{method}-{budget}-x{x}"
    return base if seed is None else f"{base}-s{seed}"


@dataclass(frozen=True)
class Run:
    """One evaluated run: its name (a label) and what it is.

    The initial model is method and budget "none" with 0 training languages; an observational
    model counts as English-trained: method "observational", budget "none", 1 language. Only a
    trained run has a seed. The method of an ablation run is its trainer and the ablation's name,
    grpo_nolang: the tables and figures treat it as a method of its own.
    """

    name: str
    method: str
    budget: str
    n_languages: int
    seed: int | None = None

    @property
    def trainer(self) -> str:
        """The training method that makes the run (grpo for grpo_nolang)."""
        return trainer_of(self.method)

    @property
    def ablation(self) -> str | None:
        """The name of the run's ablation (config `training.ablations`), or None."""
        return self.method.partition("_")[2] or None

    @property
    def pooled(self) -> str:
        """The run as the tables name it, its training seeds pooled: grpo-grow-x3 for every seed."""
        return self.name if self.seed is None else run_id(self.method, self.budget, self.n_languages)


def initial_run() -> Run:
    return Run(INIT_RUN, "none", "none", 0)


def trained_run(method: str, budget: str, x: int, seed: int) -> Run:
    return Run(run_id(method, budget, x, seed), method, budget, x, seed)


def trainer_of(method: str) -> str:
    """The training method behind a method label: grpo for grpo and for an ablation's grpo_nolang."""
    return method.partition("_")[0]


def shared_run(run: Run, trained: Iterable[str]) -> str | None:
    """The trained run (among the names `trained`) whose model and scores `run` shares, or None:
    X = 1 is English only under every budget (the fixed budget keeps train_size // 1 = all
    problems), so <method>-fixed-x1-s<seed> is <method>-grow-x1-s<seed>, trained once."""
    if run.seed is None or run.n_languages != 1 or run.budget != "fixed":
        return None
    grown = trained_run(run.method, "grow", 1, run.seed).name
    return grown if grown in trained else None


def ablation_method(trainer: str, ablation: str) -> str:
    """The method label of an ablation's runs: grpo_nolang."""
    return f"{trainer}_{ablation}"


def trained_runs(config: dict[str, Any]) -> list[Run]:
    """Every trained run of a validated config, once per seed: each method of `training.methods`
    under each budget at each X, then each GRPO ablation (`training.ablations`) at its own X and
    budgets (default: all of them)."""
    sizes, budgets, seeds = config["subset_sizes"], config["budgets"], config["seeds"]
    arms = [(method, budgets, sizes) for method in config["training"]["methods"]]
    for name, ablation in config["training"]["ablations"].items():
        arms.append(
            (ablation_method("grpo", name), ablation.get("budgets", budgets), ablation.get("subset_sizes", sizes))
        )
    return [
        trained_run(method, budget, x, seed)
        for method, arm_budgets, arm_sizes in arms
        for budget in arm_budgets
        for x in arm_sizes
        for seed in seeds
    ]


def observational_run(name: str) -> Run:
    """The off-the-shelf model called `name` in the config's `observational` list."""
    return Run(f"{OBSERVATIONAL_PREFIX}{name}", "observational", "none", 1)


_FACTS = {"method": str, "budget": str, "n_languages": int, "seed": (int, type(None))}


def facts_json(runs: Iterable[Run]) -> str:
    """`pscale tables --run-facts`: {name: {method, budget, n_languages, seed}}, each run once."""
    facts: dict[str, dict[str, Any]] = {}
    for run in runs:
        fields = asdict(run)
        facts[fields.pop("name")] = fields
    return json.dumps(facts, separators=(",", ":"))


def runs_from_facts(facts: Any) -> dict[str, Run]:
    """The runs of a parsed `facts_json` by name; a malformed entry is a UserError naming it."""
    if not isinstance(facts, dict):
        raise UserError("--run-facts needs a JSON object: {run: {method, budget, n_languages, seed}}")
    runs = {}
    for name, fields in facts.items():
        if not (
            isinstance(fields, dict)
            and set(fields) == set(_FACTS)
            and all(isinstance(fields[key], kind) and not isinstance(fields[key], bool) for key, kind in _FACTS.items())
        ):
            raise UserError(
                f"--run-facts: run '{name}' needs exactly method, budget (text), n_languages (an integer) and "
                f"seed (an integer or null), got {fields!r}"
            )
        runs[name] = Run(name, **fields)
    return runs
