# Helpers shared by the rules: config validation, wildcard lists, per-rule options.
# Rules stay thin; everything that computes lives here or in the pscale package.

import json

from pscale.analysis import INIT_RUN, parse_run, run_id
from pscale.config import validate_config
from pscale.data.demo import DEMO_DATASETS

# Validate before any job starts: unknown keys and bad values stop here, naming the key.
config.update(validate_config(config))

LANGUAGES = config["languages"]
MODELS = list(config["models"])
BENCHMARKS = config["data"]["benchmarks"]
TRAIN_DATASET = config["data"]["train_dataset"]
DATASETS = [TRAIN_DATASET, *[b for b in BENCHMARKS if b != TRAIN_DATASET]]
PROMPTS = "resources/prompts.yaml"
TRAINED_RUNS = [
    run_id(method, budget, x)
    for method in config["training"]["methods"]
    for budget in config["budgets"]
    for x in config["subset_sizes"]
]
RUNS = [INIT_RUN, *TRAINED_RUNS]
FIGURES = expand(
    "results/figures/{name}.png", name=["scaling_law", "accuracy_heatmap", "training_rewards"]
)

# Resources per rule family; config `resources.<family>` overrides (see experiments/).
DEFAULT_RESOURCES = {
    "light": {"threads": 1, "mem_mb": 2000, "runtime": 30},
    "init_model": {"threads": 2, "mem_mb": 4000, "runtime": 60},
    "train": {"threads": 1, "mem_mb": 4000, "runtime": 120},
    "generate": {"threads": 1, "mem_mb": 4000, "runtime": 60},
    "score": {"threads": 1, "mem_mb": 2000, "runtime": 30},
}


wildcard_constraints:
    model="|".join(MODELS),
    run="init|[a-z]+-(grow|fixed)-x[0-9]+",
    trained_run="[a-z]+-(grow|fixed)-x[0-9]+",
    budget="grow|fixed",
    x="[0-9]+",
    benchmark="|".join(BENCHMARKS),
    dataset="|".join(DATASETS),


def res(family, key):
    """A resource of a rule family: config `resources.<family>.<key>`, else the default."""
    value = config["resources"].get(family, {}).get(key)
    return value if value is not None else DEFAULT_RESOURCES[family].get(key)


def as_json(value):
    """Deterministic JSON for params (Snakemake reruns a job when its params change)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def model_spec(model):
    return config["models"][model]


def initial_model_path(model):
    """Where the initial model loads from: the demo's built folder or a hub id."""
    spec = model_spec(model)
    if spec["source"] == "scratch":
        return f"results/models/{model}/{INIT_RUN}"
    return spec["path"]


def initial_model_input(wildcards):
    """The initial model as a file dependency (hub models have none)."""
    if model_spec(wildcards.model)["source"] == "scratch":
        return initial_model_path(wildcards.model)
    return []


def train_model_path(wildcards):
    return initial_model_path(wildcards.model)


def eval_model_input(wildcards):
    if wildcards.run == INIT_RUN:
        return initial_model_input(wildcards)
    return f"results/models/{wildcards.model}/{wildcards.run}"


def eval_model_path(wildcards):
    if wildcards.run == INIT_RUN:
        return initial_model_path(wildcards.model)
    return f"results/models/{wildcards.model}/{wildcards.run}"


def model_revision_arg(wildcards):
    revision = model_spec(wildcards.model).get("revision")
    return f"--revision {revision}" if revision and wildcards.run == INIT_RUN else ""


def translated(dataset, langs=None):
    return expand(
        "results/data/translated/{dataset}/{lang}.parquet",
        dataset=dataset,
        lang=langs or LANGUAGES,
    )


def benchmark_files(wildcards):
    return translated(wildcards.benchmark)


def subset_files(wildcards):
    from pscale.parallel_sets import subset_languages

    _, _, x = parse_run(wildcards.trained_run)
    return translated(TRAIN_DATASET, subset_languages(x, config["parallel_order"]))


def parallel_set_file(wildcards):
    _, budget, x = parse_run(wildcards.trained_run)
    return f"results/data/sets/{budget}-x{x}.parquet"


def scratch_options(wildcards):
    return as_json(model_spec(wildcards.model)["scratch"])


def training_options(wildcards):
    training = config["training"]
    return as_json({"grpo": training["grpo"], "reward_weights": training["reward_weights"]})


def translation_options(wildcards):
    """Content settings of `translation` only: the runtime ones (rate limits, concurrency, ...)
    must not trigger reruns and travel as TRANSLATION_RUNTIME (see translate.smk)."""
    from pscale.translate.options import split_options

    return as_json(split_options(config["translation"])[0])


def evaluation_options(wildcards):
    return as_json(config["evaluation"])


def scoring_options(wildcards):
    return as_json(config["scoring"])


def table_options(wildcards):
    return as_json({**config["analysis"], "parallel_order": config["parallel_order"]})


def fit_options(wildcards):
    return as_json(config["analysis"])


def all_scores(wildcards):
    return expand(
        "results/eval/scores/{model}/{run}/{benchmark}.parquet",
        model=MODELS,
        run=RUNS,
        benchmark=BENCHMARKS,
    )


def training_histories(wildcards):
    return expand(
        "results/models/{model}/{run}/log_history.json", model=MODELS, run=TRAINED_RUNS
    )
