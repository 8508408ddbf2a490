# Helpers shared by the rules: config validation, wildcard lists, per-rule options.
# Rules stay thin; everything that computes lives here or in the pscale package.

import json
import os
import re
import shlex

from pscale.codeversion import code_versions
from pscale.config import validate_config
from pscale.data.demo_datasets import DEMO_DATASETS
from pscale.figure_registry import FIGURES as FIGURE_REGISTRY
from pscale.figure_registry import HEADLINE_FIGURES, figures_for
from pscale.models import evaluation_for_model
from pscale.runs import (
    ABLATION_PATTERN,
    BUDGET_PATTERN,
    INIT_RUN,
    RUN_PATTERN,
    facts_json,
    initial_run,
    observational_run,
    run_id,
    shared_run,
    trained_runs,
)
from pscale.stages import STAGES, TRAINING_OPTIONS, stage_options
from snakemake.logging import logger

# Validate before any job starts: unknown keys and bad values stop here, naming the key.
config.update(validate_config(config))


def _dry_run_without_conda():
    """A dry run (`-n`) with the Slurm profile (`software-deployment-method: conda`) on a login node
    without conda: skip the conda envs, which a dry run only hashes (the real run builds them), instead
    of failing on `conda info`. Real runs are untouched: they need conda and say so."""
    import shutil

    from snakemake.settings.types import DeploymentMethod

    methods = workflow.deployment_settings.deployment_method
    if workflow.output_settings.dryrun and DeploymentMethod.CONDA in methods and shutil.which("conda") is None:
        workflow.deployment_settings.deployment_method = frozenset(methods - {DeploymentMethod.CONDA})
        logger.info("dry run: conda is not on PATH, so the rules' conda envs are not checked (a real run builds them)")


_dry_run_without_conda()

#: Where every output goes (config `results_dir`): two configs with different folders never share
#: or overwrite each other's outputs (experiments/paper.yaml sets results-paper).
RESULTS = config["results_dir"].rstrip("/")
# Jobs (local, or sbatch's exported environment) keep their receipts under it (pscale.receipts).
os.environ.update(PSCALE_RESULTS_DIR=os.path.abspath(RESULTS))


def results(path):
    """`path` under the results folder; wildcards and expand() braces pass through unchanged."""
    return f"{RESULTS}/{path}"


# Each rule's params carry its stage's code version (pscale.codeversion): a code change that can
# change a stage's results reruns it and what follows; a comment or docstring edit reruns nothing.
CODE = code_versions(list(STAGES), workflow.basedir)

LANGUAGES = config["languages"]
MODELS = list(config["models"])
EVAL_DATASETS = config["data"]["benchmarks"]  # evaluation datasets (benchmarks/ holds speed scripts)
TRAIN_DATASET = config["data"]["train_dataset"]
DATASETS = [TRAIN_DATASET, *[b for b in EVAL_DATASETS if b != TRAIN_DATASET]]
PROMPTS = "resources/prompts.yaml"
SEEDS = config["seeds"]
# Every trained run once per training seed, ablations included (pscale.runs.trained_runs):
# <method>-<budget>-x<X>-s<seed>, with what it is.
TRAINED = {run.name: run for run in trained_runs(config)}
TRAINED_RUNS = list(TRAINED)
# Off-the-shelf reasoning models, evaluated against their initial model (no training).
OBSERVATIONAL = {observational_run(o["name"]).name: o for o in config["observational"]}
#: Every evaluated run by name, with its facts (method, budget, X, seed): `pscale tables --run-facts`.
RUNS = {
    run.name: run
    for run in [initial_run(), *TRAINED.values(), *(observational_run(o["name"]) for o in config["observational"])]
}


FIGURE_NAMES, _SKIPPED = figures_for(config)  # pscale.figure_registry: one entry per figure
for _name, _why in _SKIPPED.items():
    logger.info(f"figure {_name} skipped: {_why}")
#: The figure files of the `figures` rule, in FIGURE_NAMES' order (`pscale figures --names`).
FIGURES = expand(results("figures/{name}.png"), name=FIGURE_NAMES)


def _figure_output(name, path):
    # (a line may not start with `report(`: Snakemake's parser reads it as the rule keyword)
    figure = FIGURE_REGISTRY[name]
    return report(path, caption=f"../report/{figure.caption_file}", category=figure.category)


FIGURE_OUTPUTS = [_figure_output(name, path) for name, path in zip(FIGURE_NAMES, FIGURES)]
#: The figure on the report's first page: the scaling law, or the accuracy heatmap when the
#: config has too few X for a fit.
HEADLINE_FIGURE = next(name for name in HEADLINE_FIGURES if name in FIGURE_NAMES)
SUMMARY = results("summary.rst")

# Resources per rule family; config `resources.<family>` overrides (see experiments/).
DEFAULT_RESOURCES = {
    "init_model": {"threads": 2, "mem_mb": 4000, "runtime": 60},
    "train": {"threads": 1, "mem_mb": 4000, "runtime": 120, "gpu": 0},
    "generate": {"threads": 1, "mem_mb": 4000, "runtime": 60, "gpu": 0},
    "score": {"threads": 1, "mem_mb": 2000, "runtime": 30},
}


def res(family, key):
    """A resource of a family of rules, from config `resources.<family>.<key>` or the default."""
    value = config["resources"].get(family, {}).get(key)
    return value if value is not None else DEFAULT_RESOURCES[family].get(key)


def _train_launcher():
    """`pscale`, or Accelerate with DeepSpeed ZeRO-3 across GPUs when a training job gets several
    (a 7B full fine-tune does not fit one GPU's memory)."""
    gpus = res("train", "gpu") or 0
    if gpus > 1:
        # port 0: a free port, so two training jobs on one node do not both take 29500
        return (
            f"accelerate launch --num_processes {gpus} --main_process_port 0"
            " --config_file resources/accelerate/deepspeed_zero3.yaml -m pscale.cli"
        )
    return "pscale"


TRAIN_LAUNCHER = _train_launcher()


def _training_warnings():
    """Per model, seconds of warning (SIGURG) before a training job's time limit: the step under way
    and a checkpoint save must fit (pscale.plan.training_warning_seconds, from the model's size)."""
    from pscale.plan import PlanError, training_warning_seconds

    warnings = {}
    for model in config["models"]:
        try:
            warnings[model] = training_warning_seconds(config, model)
        except PlanError as err:
            logger.info(f"{err}; its training jobs are warned 900 s before their time limit")
            warnings[model] = 900
    return warnings


TRAINING_WARNING = _training_warnings()


def train_slurm_extra(wildcards):
    """sbatch options of a training job (slurm executor): the warning before its time limit, which
    pscale.preemption turns into a checkpoint and exit 75, then config `resources.train.slurm_extra`."""
    extra = res("train", "slurm_extra")
    warning = f"--signal=URG@{TRAINING_WARNING[wildcards.model]}"
    return f"{warning} {extra}" if extra else warning


def as_json(value):
    """Deterministic JSON for params (Snakemake reruns a job when its params change)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def model_spec(model):
    return config["models"][model]


# Hub models (initial and observational) are downloaded once by `fetch_model` (model.smk), a
# local rule; jobs load the snapshot folder it recorded (SNAPSHOT), offline (HF_HUB_OFFLINE=1).
HUB_MODELS = {
    **{name: spec for name, spec in config["models"].items() if spec["source"] == "hub"},
    **OBSERVATIONAL,
}


def fetched(name):
    """The files `fetch_model` writes for a hub model: its resolved commit and its local folder."""
    return {"revision": f"{RESULTS}/models/{name}/REVISION", "snapshot": f"{RESULTS}/models/{name}/SNAPSHOT"}


def snapshot_path(name):
    """The fetched folder, read by the job's shell when it starts (the file exists only then)."""
    return f'"$(cat {fetched(name)["snapshot"]})"'


def initial_model_path(model):
    """Where the initial model loads from: the demo's built folder or the fetched hub snapshot."""
    spec = model_spec(model)
    if spec["source"] == "scratch":
        return f"{RESULTS}/models/{model}/{INIT_RUN}"
    return snapshot_path(model)


def initial_model_input(wildcards):
    """The initial model as a file dependency: its folder, or the fetched snapshot's record."""
    if model_spec(wildcards.model)["source"] == "scratch":
        return initial_model_path(wildcards.model)
    return list(fetched(wildcards.model).values())


def hub_model_path(wildcards):
    return HUB_MODELS[wildcards.hub_model]["path"]


def hub_model_revision_arg(wildcards):
    revision = HUB_MODELS[wildcards.hub_model].get("revision")
    return f"--revision {shlex.quote(revision)}" if revision else ""


def hf_cache_arg():
    cache = config["paths"]["hf_cache"]
    return f"--cache-dir {shlex.quote(cache)}" if cache else ""


def hub_model_check_options(wildcards):
    """The model's evaluation settings, so fetch_model checks max_model_len against the model."""
    return as_json(evaluation_for_model(config["evaluation"], HUB_MODELS[wildcards.hub_model]))


def train_model_path(wildcards):
    return initial_model_path(wildcards.model)


def runs_of(model):
    """Every evaluated run of a model: init, trained runs, observational models based on it."""
    observed = [run for run, spec in OBSERVATIONAL.items() if spec["base"] == model]
    return [INIT_RUN, *TRAINED_RUNS, *observed]


def eval_model_input(wildcards):
    if wildcards.run == INIT_RUN:
        return initial_model_input(wildcards)
    if wildcards.run in OBSERVATIONAL:
        return list(fetched(wildcards.run).values())
    return f"{RESULTS}/models/{wildcards.model}/{wildcards.run}"


def eval_model_path(wildcards):
    if wildcards.run == INIT_RUN:
        return initial_model_path(wildcards.model)
    if wildcards.run in OBSERVATIONAL:
        return snapshot_path(wildcards.run)
    return f"{RESULTS}/models/{wildcards.model}/{wildcards.run}"


def _run_spec(wildcards):
    """The config entry that says how this run's model is loaded and prompted."""
    if wildcards.run in OBSERVATIONAL:
        return OBSERVATIONAL[wildcards.run]
    return model_spec(wildcards.model)


def _style_args(spec):
    system = spec.get("system_prompt")
    system_arg = f" --system-prompt {shlex.quote(system)}" if system else ""
    return f"--chat-template {spec['chat_template']}{system_arg}{format_prompt_arg()}"


def format_prompt_arg():
    """`--format-prompt` when config `format_prompt` asks for <think>...</think> then \\boxed{}."""
    return " --format-prompt" if config["format_prompt"] else ""


def eval_prompt_style(wildcards):
    return _style_args(_run_spec(wildcards))


def train_prompt_style(wildcards):
    return _style_args(model_spec(wildcards.model))


def translated(dataset, langs=None):
    return expand(
        results("data/translated/{dataset}/{lang}.parquet"),
        dataset=dataset,
        lang=langs or LANGUAGES,
    )


def scratch_options(wildcards):
    return as_json(stage_options("init-model", config, model=wildcards.model))


def demo_sizes(wildcards):
    """The demo generator's sizes a dataset depends on: demo_train is drawn first, from n_train alone
    (0 test problems: this job writes no test set); the test sets are drawn after it, from both."""
    demo = config["data"]["demo"]
    n_test = 0 if wildcards.dataset == "demo_train" else demo["n_test"]
    return f"--n-train {demo['n_train']} --n-test {n_test}"


def train_size_arg():
    size = config["data"]["train_size"]
    return f"--train-size {size}" if size else ""


def _seeded(options, wildcards):
    """Training options with the run's seed (config `seeds`) as TRL's `seed`."""
    return {**options, "seed": int(wildcards.seed)}


def training_options(wildcards):
    """The options of the job's training method (`train_grpo`, `train_sft`), with the run's seed;
    GRPO's include the grading settings its rewards read (a change retrains), and an ablation's
    (config `training.ablations`) its own reward weights."""
    run = TRAINED[run_id(wildcards.method, wildcards.budget, int(wildcards.x), int(wildcards.seed))]
    method = run.trainer
    options = stage_options("train", config, TRAINING_OPTIONS[method])
    if run.ablation:
        changed = config["training"]["ablations"][run.ablation]["reward_weights"]
        options["reward_weights"] = {**options["reward_weights"], **changed}
    return as_json({**options, method: _seeded(options[method], wildcards)})


def hub_options(wildcards):
    return as_json(stage_options("source", config, dataset=wildcards.dataset))


def translation_options(wildcards):
    """Content settings of `translation` only: the runtime ones (rate limits, concurrency, ...)
    must not trigger reruns and travel as TRANSLATION_RUNTIME (see translate.smk)."""
    from pscale.translate.options import split_options

    return as_json(split_options(stage_options("translate", config))[0])


def evaluation_options(wildcards):
    """`evaluation` with the run's model's own `evaluation` block merged over it (pscale.models);
    `group_benchmarks` only schedules, so it stays out (changing it regenerates nothing)."""
    merged = evaluation_for_model(stage_options("generate", config), _run_spec(wildcards))
    return as_json({key: value for key, value in merged.items() if key != "group_benchmarks"})


GROUP_BENCHMARKS = config["evaluation"]["group_benchmarks"]
#: What one generation job writes, and its log: every benchmark of a model's run, or one.
if GROUP_BENCHMARKS:
    GENERATIONS = expand(results("eval/generations/{{model}}/{{run}}/{benchmark}.parquet"), benchmark=EVAL_DATASETS)
    GENERATE_LOG = results("logs/generate/{model}/{run}.log")
else:
    GENERATIONS = results("eval/generations/{model}/{run}/{benchmark}.parquet")
    GENERATE_LOG = results("logs/generate/{model}/{run}/{benchmark}.log")


def prompt_check(model):
    """check_prompts' outputs for an initial model: every prompt's length, and the problems dropped."""
    return {
        "lengths": results(f"eval/prompt_check/{model}/lengths.parquet"),
        "dropped": results(f"eval/prompt_check/{model}/dropped.csv"),
    }


def _checked_runs(model):
    """The run kinds check_prompts covers for a model: its own settings (init and trained runs share
    its tokenizer), then each observational model based on it: (run, spec)."""
    observed = [(run, spec) for run, spec in OBSERVATIONAL.items() if spec["base"] == model]
    return [(INIT_RUN, model_spec(model)), *observed]


def check_model_input(wildcards):
    """The tokenizers check_prompts reads: the initial model's and each observational model's."""
    inputs = initial_model_input(wildcards)
    inputs = inputs if isinstance(inputs, list) else [inputs]
    for run, _ in _checked_runs(wildcards.model)[1:]:
        inputs += list(fetched(run).values())
    return inputs


def check_model_paths(wildcards):
    """`--models` of check_prompts, in _checked_runs' order."""
    model = wildcards.model
    return " ".join(
        initial_model_path(model) if run == INIT_RUN else snapshot_path(run) for run, _ in _checked_runs(model)
    )


#: The evaluation settings a prompt check reads (others, e.g. n_samples, do not rerun it).
CHECK_KEYS = ("max_new_tokens", "force_language", "too_long")


def _check_settings(spec):
    merged = evaluation_for_model(config["evaluation"], spec)
    limit = merged["vllm"].get("max_model_len")
    return {**{key: merged[key] for key in CHECK_KEYS}, "vllm": {"max_model_len": limit} if limit else {}}


def check_prompt_runs(wildcards):
    """`--runs` of check_prompts: how each run kind is prompted and the room its settings leave."""
    runs = [
        {
            "run": run,
            "chat_template": spec["chat_template"],
            "system_prompt": spec.get("system_prompt"),
            "evaluation": _check_settings(spec),
        }
        for run, spec in _checked_runs(wildcards.model)
    ]
    return as_json(runs)


def checked_prompts(wildcards):
    """A generation job's prompt check (the dropped problems it leaves out). Not `ancient`: with
    it, Snakemake 9 plans neither the check's nor generation's rerun after a change of
    max_new_tokens. A rerun check regenerates the model's runs; only an edit of
    pscale.prompt_check or a re-fetch of an observational model reruns it alone."""
    return prompt_check(wildcards.model)["dropped"]


def all_benchmark_files(wildcards):
    """Every benchmark's translated files, benchmark by benchmark in EVAL_DATASETS' order
    (`pscale generate --benchmarks` names the groups): a job of one benchmark lists them all too,
    so both groupings have the same inputs (switching reruns nothing)."""
    return [path for benchmark in EVAL_DATASETS for path in translated(benchmark)]


def reference_corpus(wildcards):
    """The parallel corpus the `reference` translation backend reads (none for `openai`)."""
    translation = config["translation"]
    if translation["backend"] != "reference":
        return []
    return translation["reference_corpus"].format(dataset=wildcards.dataset)


def reference_corpus_arg(wildcards, input):
    return f"--reference-corpus {shlex.quote(input.reference)}" if input.reference else ""


def train_work_dir(wildcards):
    """A training job's checkpoints: outside its output folder, so a failed job resumes from them."""
    return f"{RESULTS}/work/{wildcards.model}/{run_id(wildcards.method, wildcards.budget, wildcards.x, wildcards.seed)}"


# Runs whose training sets are identical are trained and evaluated once (pscale.runs.shared_run):
# <method>-fixed-x1-s<seed> shares <method>-grow-x1-s<seed>'s model and scores (copied by the
# local rule share_scores), and appears in the tables under its own name.
SHARED_RUNS = {name: shared for name, run in TRAINED.items() if (shared := shared_run(run, TRAINED)) is not None}


def copy_files(sources, targets, log):
    """share_scores: each benchmark's scores from the run that was evaluated (no conda env needed)."""
    import shutil

    with open(log, "w") as handle:
        for source, target in zip(sources, targets, strict=True):
            shutil.copyfile(source, target)
            print(f"{source} -> {target}", file=handle)


def shared_scores(wildcards):
    return expand(
        results("eval/scores/{model}/{run}/{benchmark}.parquet"),
        model=wildcards.model,
        run=SHARED_RUNS[wildcards.run],
        benchmark=EVAL_DATASETS,
    )


def scoring_options(wildcards):
    return as_json(stage_options("score", config))


def table_options(wildcards):
    return as_json(stage_options("tables", config))


def fit_options(wildcards):
    return as_json(stage_options("fit", config))


#: Every score file the tables read, with what it scores: (model, run, benchmark, path).
SCORE_FILES = [
    (model, run, benchmark, f"{RESULTS}/eval/scores/{model}/{run}/{benchmark}.parquet")
    for model in MODELS
    for run in runs_of(model)
    for benchmark in EVAL_DATASETS
]


def all_scores(wildcards):
    return [path for *_, path in SCORE_FILES]


def score_labels(wildcards):
    """`pscale tables --labels`: [model, run, benchmark] of each score file, in all_scores' order."""
    return as_json([[model, run, benchmark] for model, run, benchmark, _ in SCORE_FILES])


def run_facts(wildcards):
    """`pscale tables --run-facts`: what each run of score_labels is (method, budget, X, seed)."""
    return facts_json(RUNS[run] for run in dict.fromkeys(run for _, run, _, _ in SCORE_FILES))


#: Every model trained (a shared run's model once, under the run that trained it): (model, run).
TRAINED_MODELS = [(model, run) for model in MODELS for run in TRAINED_RUNS if run not in SHARED_RUNS]


def trained_models(wildcards):
    return [f"{RESULTS}/models/{model}/{run}" for model, run in TRAINED_MODELS]


#: Every trained run of the tables, with the folder of the model that trained it (a shared run's is
#: its twin's): runs.csv gets each run's steps, epochs and prompts seen from its training.json.
TRAINING_RUNS = [
    (model, run, f"{RESULTS}/models/{model}/{SHARED_RUNS.get(run, run)}") for model in MODELS for run in TRAINED_RUNS
]


def training_folders(wildcards):
    return [folder for *_, folder in TRAINING_RUNS]


def training_labels(wildcards):
    """`pscale tables --training-labels`: <model>/<run> of each training_folders entry, in order."""
    return " ".join(shlex.quote(f"{model}/{run}") for model, run, _ in TRAINING_RUNS)


def trained_model_labels(wildcards):
    """`pscale figures --history-labels`: <model>/<run> of each trained model, in trained_models' order,
    its seeds pooled (grpo-grow-x3): the reward curves average a run's seeds into one line."""
    return " ".join(shlex.quote(f"{model}/{TRAINED[run].pooled}") for model, run in TRAINED_MODELS)


#: What a finished study holds besides its tables and figures: every model, generations file and
#: score file. `all` asks for them, so one that went missing (a failed or interrupted REDO, a
#: deleted file) is rebuilt by the next `make run` instead of the run reporting "Done" without it
#: (Snakemake remakes a missing intermediate file only when something that is asked for needs it).
STUDY_FILES = [
    *[initial_model_path(model) for model in MODELS if model_spec(model)["source"] == "scratch"],
    *[results(f"models/{model}/{run}") for model, run in TRAINED_MODELS],
    *[
        results(f"eval/generations/{model}/{run}/{benchmark}.parquet")
        for model in MODELS
        for run in runs_of(model)
        if run not in SHARED_RUNS
        for benchmark in EVAL_DATASETS
    ],
    *all_scores(None),
]
