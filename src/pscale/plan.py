"""What a configuration will cost, before it runs: GPU-hours, disk and translation API dollars.

`pscale plan --configfile experiments/paper.yaml` (and `make plan`) reads the config alone: no
download, no GPU. Every figure comes from the sizes the config states (models, datasets, steps or
epochs, batch, lengths, samples) and a few tables shipped here, each overridable in the config's
`plan` section (src/pscale/config.schema.yaml):

- parameter counts of the hub models (MODEL_PARAMS_B; a scratch model's from its architecture);
- item counts and mean text lengths of the datasets (DATASET_SIZES);
- per GPU type, the effective training FLOP rate, vLLM's decode rate for a 7.6B model and the time
  of one decode step (GPU_TYPES).

How the GPU time is counted (a model, not a measurement: calibrate `plan.gpus` with the first
jobs' logs, e.g. TRL's train_runtime, or `benchmarks/gpu_paths.sh`):

- GRPO step = generation + training + a fixed overhead (sleep/wake of the colocated engine, weight
  sync). Generation is the slower of the throughput bound (completions x mean completion tokens at
  the colocated engine's decode rate) and the latency bound (the longest completion of a round,
  max_completion_length decode steps). Training is 8 x params FLOPs per token with gradient
  checkpointing (6 without), plus 2 x params for the reference model when beta > 0.
- SFT step: the same FLOPs on prompt + worked-solution tokens.
- Generation job: every prompt x n_samples x mean completion tokens at the decode rate, plus the
  engine start.
- Steps: `max_steps`, or `num_train_epochs` passes over the parallel set (TRL's own arithmetic:
  GRPO counts a pass as every prompt once, with its num_generations completions).

Light on purpose (no torch, trl or vllm): the workflow imports it at parse time to size each
training job's time-limit warning (`warning_seconds`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pscale.models import evaluation_for_model
from pscale.runs import shared_run, trained_runs
from pscale.training_length import grpo_shape, training_steps

#: Per GPU type: effective bf16 TFLOP/s of one GPU in ZeRO-3 training (peak x ~25% utilisation),
#: generated tokens per second of one GPU for a 7.6B model with vLLM at full memory and a large
#: batch (scaled by 7.6 / params for other sizes), and the time of one decode step of a 7.6B model
#: at a GRPO round's batch (the longest completion waits max_completion_length of them). `cpu` is
#: one core, for configs whose jobs get no GPU (the demo). Rough public figures; override them.
GPU_TYPES: dict[str, dict[str, float]] = {
    "h100": {"train_tflops": 250.0, "decode_tokens_per_s": 6000.0, "decode_ms_per_token": 25.0},
    "h200": {"train_tflops": 275.0, "decode_tokens_per_s": 8000.0, "decode_ms_per_token": 22.0},
    "a100_80gb": {"train_tflops": 100.0, "decode_tokens_per_s": 3000.0, "decode_ms_per_token": 40.0},
    "cpu": {"train_tflops": 0.05, "decode_tokens_per_s": 1.0, "decode_ms_per_token": 500.0},
}
#: Decode rates are quoted for a model of this many billion parameters (Qwen2.5-7B).
REFERENCE_PARAMS_B = 7.62
#: Parameters (billions, embeddings included) of the hub models the configs name.
MODEL_PARAMS_B: dict[str, float] = {
    "Qwen/Qwen2.5-7B-Instruct": 7.62,
    "Qwen/Qwen2.5-7B": 7.62,
    "Qwen/Qwen2.5-Math-7B": 7.62,
    "Qwen/Qwen2.5-1.5B-Instruct": 1.54,
    "Qwen/Qwen2.5-3B-Instruct": 3.09,
    "meta-llama/Llama-3.1-8B-Instruct": 8.03,
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B": 7.62,
    "open-thoughts/OpenThinker-7B": 7.62,
    "open-r1/OpenR1-Qwen-7B": 7.62,
}
#: Items and mean English lengths (characters) of the datasets the configs name: question,
#: worked solution (0: none), options of a multiple-choice item and their mean length. Demo
#: datasets take their item counts from `data.demo`.
DATASET_SIZES: dict[str, dict[str, float]] = {
    "math_train": {"items": 7500, "question_chars": 200, "solution_chars": 550, "choices": 0, "choice_chars": 0},
    "math500": {"items": 500, "question_chars": 195, "solution_chars": 530, "choices": 0, "choice_chars": 0},
    "aime24": {"items": 30, "question_chars": 420, "solution_chars": 0, "choices": 0, "choice_chars": 0},
    "aime25": {"items": 30, "question_chars": 450, "solution_chars": 0, "choices": 0, "choice_chars": 0},
    "gpqa_diamond": {"items": 198, "question_chars": 480, "solution_chars": 0, "choices": 4, "choice_chars": 60},
    "demo_train": {"items": 0, "question_chars": 80, "solution_chars": 60, "choices": 0, "choice_chars": 0},
    "demo_test": {"items": 0, "question_chars": 80, "solution_chars": 60, "choices": 0, "choice_chars": 0},
    "demo_hard": {"items": 0, "question_chars": 85, "solution_chars": 65, "choices": 0, "choice_chars": 0},
}
#: Checkpoint bytes per parameter: ZeRO-3 with Adam (bf16 weights 2 + fp32 master weights 4 +
#: Adam m and v 8) on several GPUs; one process without DeepSpeed: fp32 weights 4 + m and v 8.
CHECKPOINT_BYTES_PER_PARAM = {"zero3": 14, "single": 12}
#: A saved model (save_pretrained in bf16; the CPU demo saves fp32, 4).
MODEL_BYTES_PER_PARAM = 2
#: Tokens the chat template and the answer instruction add to a question.
PROMPT_OVERHEAD_TOKENS = 40
#: Scoring: responses graded per CPU-second (README "Scoring speed", the worst case).
SCORE_RESPONSES_PER_CPU_S = 1600


class PlanError(ValueError):
    """The config names something the plan has no size for; the message says which key to set."""


@dataclass
class Family:
    """What one rule family costs in all."""

    name: str
    jobs: int = 0
    gpu_hours: float = 0.0
    cpu_hours: float = 0.0
    disk_gb: float = 0.0
    api_input_tokens: float = 0.0
    api_output_tokens: float = 0.0
    api_usd: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass
class TrainingRun:
    """One training job as the plan sees it."""

    model: str
    method: str
    budget: str
    x: int
    set_rows: int
    steps: int
    epochs: float
    prompts_seen: int
    step_s: float
    hours: float


@dataclass
class ModelSizing:
    """Per initial model: checkpoint size, save time, and the sizing of its training jobs."""

    model: str
    params_b: float
    checkpoint_gb: float
    save_s: float
    step_s: dict[str, float]
    warning_s: int
    save_every: dict[str, float]
    #: save_steps that checkpoint every `plan.checkpoint_every_minutes` at the estimated step time
    sized_save_steps: dict[str, int]


@dataclass
class Plan:
    families: dict[str, Family]
    runs: list[TrainingRun]
    sizing: list[ModelSizing]
    disk: dict[str, float]
    checks: list[str]
    gpu_type: str

    @property
    def gpu_hours(self) -> float:
        return sum(f.gpu_hours for f in self.families.values())

    @property
    def api_usd(self) -> float:
        return sum(f.api_usd for f in self.families.values())

    @property
    def disk_gb(self) -> float:
        return sum(self.disk.values())


# ------------------------------------------------------------------------------------- sizes


def gpu_table(config: dict[str, Any], family: str = "train") -> dict[str, float]:
    """The throughput row a rule family's jobs run at: `plan.gpu_type`, or `cpu` when the family's
    resources give it no GPU; the config's `plan.gpus` entries merged over the shipped rows."""
    settings = config["plan"]
    name = settings["gpu_type"] if config["resources"].get(family, {}).get("gpu") else "cpu"
    table = {key: dict(row) for key, row in GPU_TYPES.items()}
    for key, row in settings["gpus"].items():
        table.setdefault(key, {}).update(row)
    row = table.get(name)
    if row is None or set(row) != set(GPU_TYPES["h100"]):
        raise PlanError(
            f"config key 'plan.gpu_type': no complete throughput row for '{name}' (known: {sorted(table)}); "
            f"add plan.gpus.{name} with {sorted(GPU_TYPES['h100'])}"
        )
    return row


def scratch_params_b(arch: dict[str, Any]) -> float:
    """Parameters of a scratch Qwen2 (tied embeddings): embeddings + attention + MLP per layer."""
    hidden, layers = arch["hidden_size"], arch["num_hidden_layers"]
    head_dim = hidden // arch["num_attention_heads"]
    kv = arch["num_key_value_heads"] * head_dim
    per_layer = hidden * hidden * 2 + hidden * kv * 2 + 3 * hidden * arch["intermediate_size"] + 2 * hidden
    return (arch["vocab_size"] * hidden + layers * per_layer) / 1e9


def model_params_b(config: dict[str, Any], name: str, spec: dict[str, Any]) -> float:
    """Billions of parameters of a model: `plan.model_params_b`, the shipped table, or its architecture."""
    overrides = config["plan"]["model_params_b"]
    if name in overrides:
        return float(overrides[name])
    if spec.get("source") == "scratch":
        return scratch_params_b(spec["scratch"])
    path = spec.get("path", "")
    if path in MODEL_PARAMS_B:
        return MODEL_PARAMS_B[path]
    raise PlanError(
        f"no parameter count for model '{name}' ({path}): set config key 'plan.model_params_b.{name}' (billions)"
    )


def dataset_size(config: dict[str, Any], name: str) -> dict[str, float]:
    """Items and mean lengths of a dataset: `plan.datasets`, else the shipped table, limited by `sample`."""
    size = dict(DATASET_SIZES.get(name, {}))
    size.update(config["plan"]["datasets"].get(name, {}))
    if not size or "items" not in size or "question_chars" not in size:
        raise PlanError(
            f"no size for dataset '{name}': set config key 'plan.datasets.{name}' "
            "(items, question_chars; solution_chars, choices, choice_chars)"
        )
    size = {"solution_chars": 0, "choices": 0, "choice_chars": 0, **size}
    data = config["data"]
    if data["source"] == "demo" and name.startswith("demo_"):
        size["items"] = data["demo"]["n_train"] if name == data["train_dataset"] else data["demo"]["n_test"]
    spec = data["hub"].get(name) or {}
    if data["source"] == "hub" and spec.get("sample"):
        size["items"] = min(size["items"], spec["sample"])
    return size


def _tokens_per_english_char(languages: list[str]) -> float:
    """Mean tokens per English source character of a text rendered in each of `languages`."""
    from pscale.translate.jobs import SCRIPT_FACTORS

    factors = [SCRIPT_FACTORS.get(lang, (1.2, 0.5)) for lang in languages]
    return sum(chars * per_char for chars, per_char in factors) / len(factors)


def _train_items(config: dict[str, Any]) -> int:
    items = int(dataset_size(config, config["data"]["train_dataset"])["items"])
    size = config["data"]["train_size"]
    return min(items, size) if size else items


def set_rows(config: dict[str, Any], budget: str, x: int) -> int:
    """Rows of a parallel set (pscale.parallel_sets): every problem in X languages, or train_size // X."""
    items = _train_items(config)
    return items * x if budget == "grow" else max(1, items // x) * x


# ------------------------------------------------------------------------------------- steps


def world_size(config: dict[str, Any]) -> int:
    return max(1, int(config["resources"].get("train", {}).get("gpu") or 1))


# ------------------------------------------------------------------------------------- time


def _decode_rate(gpu: dict[str, float], params_b: float) -> float:
    """Generated tokens per second of one GPU (bandwidth-bound: inversely proportional to size, capped)."""
    return gpu["decode_tokens_per_s"] * min(REFERENCE_PARAMS_B / params_b, 1000.0)


def grpo_step_seconds(config: dict[str, Any], params_b: float, prompt_tokens: float) -> float:
    """Wall seconds of one GRPO step (see the module docstring)."""
    settings, grpo = config["plan"], config["training"]["grpo"]
    gpu, world = gpu_table(config), world_size(config)
    shape = grpo_shape(grpo, world)
    completion = settings["completion_share"]["grpo"] * grpo["max_completion_length"]
    completions = shape["completions_per_step"]
    rate = _decode_rate(gpu, params_b) * settings["grpo_generation_share"]
    throughput_s = completions * completion / (world * rate)
    latency_s = grpo["max_completion_length"] * gpu["decode_ms_per_token"] / 1000 * params_b / REFERENCE_PARAMS_B
    rounds_per_step = 1 / shape["steps_per_round"]
    generation_s = max(throughput_s, latency_s * rounds_per_step)
    per_token = 8 if grpo.get("gradient_checkpointing") else 6
    if grpo.get("beta", 0) > 0:
        per_token += 2
    flops = completions * (prompt_tokens + completion) * params_b * 1e9 * per_token
    train_s = flops / (world * gpu["train_tflops"] * 1e12)
    overhead_s = settings["grpo_step_overhead_s"] if grpo.get("use_vllm") else 0.0
    return generation_s + train_s + overhead_s


def sft_step_seconds(config: dict[str, Any], params_b: float, tokens_per_example: float) -> float:
    sft, gpu, world = config["training"]["sft"], gpu_table(config), world_size(config)
    examples = sft["per_device_train_batch_size"] * world * (sft.get("gradient_accumulation_steps") or 1)
    per_token = 8 if sft.get("gradient_checkpointing") else 6
    return examples * tokens_per_example * params_b * 1e9 * per_token / (world * gpu["train_tflops"] * 1e12)


def checkpoint_gb(config: dict[str, Any], params_b: float) -> float:
    kind = "zero3" if world_size(config) > 1 else "single"
    return params_b * CHECKPOINT_BYTES_PER_PARAM[kind]


def warning_seconds(config: dict[str, Any], step_s: float, params_b: float) -> int:
    """Lead time of the training jobs' SIGURG before their time limit (slurm --signal=URG@<s>):
    twice the step (the step under way, and slack for a slow one) plus one checkpoint write plus a
    minute, rounded up to a minute; at most a tenth of the job's time limit."""
    save_s = checkpoint_gb(config, params_b) / config["plan"]["checkpoint_write_gb_per_s"]
    lead = math.ceil((2 * step_s + save_s + 60) / 60) * 60
    runtime_s = 60 * int(config["resources"].get("train", {}).get("runtime") or 120)
    return max(1, min(lead, runtime_s // 10))


def model_step_seconds(config: dict[str, Any], model: str) -> dict[str, float]:
    """Estimated seconds per optimizer step of each training method for one initial model."""
    spec = config["models"][model]
    params = model_params_b(config, model, spec)
    per_char = _tokens_per_english_char(config["languages"])
    train = dataset_size(config, config["data"]["train_dataset"])
    prompt = train["question_chars"] * per_char + PROMPT_OVERHEAD_TOKENS
    solution = train["solution_chars"] * per_char
    return {
        "grpo": grpo_step_seconds(config, params, prompt),
        "sft": sft_step_seconds(config, params, prompt + solution),
    }


def training_warning_seconds(config: dict[str, Any], model: str) -> int:
    """The time-limit warning of a model's training jobs, sized for its slower method."""
    step = max(model_step_seconds(config, model)[m] for m in config["training"]["methods"])
    spec = config["models"][model]
    return warning_seconds(config, step, model_params_b(config, model, spec))


# ------------------------------------------------------------------------------------- the plan


def _translation(config: dict[str, Any]) -> Family:
    """API tokens and dollars of translating every dataset into every non-English language."""
    family = Family("translate")
    translation = config["translation"]
    datasets = [config["data"]["train_dataset"], *[b for b in config["data"]["benchmarks"]]]
    datasets = list(dict.fromkeys(datasets))
    family.jobs = len(datasets)
    if translation["backend"] != "openai":
        family.notes.append(f"backend {translation['backend']}: no API calls")
        return family
    from pscale.translate.jobs import cost_usd, estimate_tokens
    from pscale.translate.translator_prompt import load_prompt

    options = translation["openai"]
    prompt = load_prompt(options["prompt_file"])
    targets = [lang for lang in config["languages"] if lang != "en"]
    retry = 1 + config["plan"]["translation_retry_share"]
    for name in datasets:
        size = dataset_size(config, name)
        items = _train_items(config) if name == config["data"]["train_dataset"] else int(size["items"])
        texts = [size["question_chars"]]
        if options["translate_solution"] and size["solution_chars"]:
            texts.append(size["solution_chars"])
        texts += [size["choice_chars"]] * int(size["choices"])
        for lang in targets:
            for chars in texts:
                source = "x" * int(chars)
                inputs, outputs = estimate_tokens(prompt.messages(lang, source), source, lang)
                family.api_input_tokens += items * inputs * retry
                family.api_output_tokens += items * outputs * retry
    family.api_usd = cost_usd(
        family.api_input_tokens, family.api_output_tokens, options["prices"], options["mode"] == "batch"
    )
    family.notes.append(f"{options['model']}, {options['mode']} mode, {retry - 1:.0%} retries assumed")
    return family


def _run_names(config: dict[str, Any]) -> list[tuple[str, str, int, int]]:
    """(training method, budget, X, seed) of every trained run, ablations included (as the GRPO runs
    they are), fixed-budget X = 1 left out when grow has it (the workflow trains it once:
    common.smk SHARED_RUNS)."""
    runs = trained_runs(config)
    names = {run.name for run in runs}
    return [(run.trainer, run.budget, run.n_languages, run.seed) for run in runs if shared_run(run, names) is None]


def build_plan(config: dict[str, Any]) -> Plan:
    """The cost of a validated config (pscale.config.validate_config), per rule family. Long on
    purpose: the families' costs share the per-run shapes computed at the top (steps, batch,
    checkpoint sizes), one block per family in the order the workflow runs them."""
    settings = config["plan"]
    on_gpu = {family: (config["resources"].get(family, {}).get("gpu") or 0) > 0 for family in ("train", "generate")}
    world = world_size(config)
    families = {name: Family(name) for name in ("translate", "train_grpo", "train_sft", "generate", "score")}
    families["translate"] = _translation(config)
    runs: list[TrainingRun] = []
    sizing: list[ModelSizing] = []
    disk: dict[str, float] = {"hub models": 0.0, "trained models": 0.0, "checkpoints": 0.0, "generations": 0.0}
    checks: list[str] = []
    model_bytes = MODEL_BYTES_PER_PARAM if on_gpu["train"] else 4
    training = config["training"]
    runtime_h = (config["resources"].get("train", {}).get("runtime") or 120) / 60
    for model, spec in config["models"].items():
        params = model_params_b(config, model, spec)
        if spec["source"] == "hub":
            disk["hub models"] += params * MODEL_BYTES_PER_PARAM
        steps_s = model_step_seconds(config, model)
        ckpt = checkpoint_gb(config, params)
        save_s = ckpt / settings["checkpoint_write_gb_per_s"]
        save_every, sized = {}, {}
        for method in training["methods"]:
            options = training[method]
            save_steps = options.get("save_steps", 50)
            save_every[method] = save_steps * steps_s[method] / 3600
            sized[method] = max(1, round(settings["checkpoint_every_minutes"] * 60 / steps_s[method]))
            limit = options.get("save_total_limit", 2)
            disk["checkpoints"] = max(disk["checkpoints"], (limit + 1) * ckpt * settings["concurrent_training_jobs"])
            longest = max(
                training_steps(options, method, set_rows(config, budget, x), world)[0]
                for _, budget, x, _ in _run_names(config)
            )
            interval_h = save_steps * steps_s[method] / 3600
            if longest * steps_s[method] / 3600 > runtime_h and interval_h > runtime_h:
                checks.append(
                    f"{model} {method}: a checkpoint every {interval_h:.1f} h but jobs of {runtime_h:.0f} h: only "
                    f"the time-limit warning's checkpoint survives a job; save_steps {sized[method]} is sized"
                )
            if save_steps <= longest and save_s > 0.1 * save_steps * steps_s[method]:
                checks.append(
                    f"{model} {method}: save_steps {save_steps} writes a {ckpt:.0f} GB checkpoint every "
                    f"{save_steps * steps_s[method] / 60:.0f} min ({save_s / 60:.1f} min each): "
                    f"save_steps {sized[method]} checkpoints every {settings['checkpoint_every_minutes']:.0f} min"
                )
        warning = training_warning_seconds(config, model)
        sizing.append(ModelSizing(model, params, ckpt, save_s, steps_s, warning, save_every, sized))
        for method, budget, x, _seed in _run_names(config):
            rows = set_rows(config, budget, x)
            steps, epochs, prompts = training_steps(training[method], method, rows, world)
            hours = steps * steps_s[method] / 3600
            runs.append(TrainingRun(model, method, budget, x, rows, steps, epochs, prompts, steps_s[method], hours))
            family = families[f"train_{method}"]
            family.jobs += 1
            if on_gpu["train"]:
                family.gpu_hours += hours * world
            else:
                family.cpu_hours += hours
            disk["trained models"] += params * model_bytes
            saves = steps // max(1, training[method].get("save_steps", 50))
            family.disk_gb += saves * ckpt
            attempts = math.ceil(hours / max(runtime_h - 0.25, 0.1))
            if attempts > 1 + 2:
                checks.append(
                    f"{model} {method}-{budget}-x{x}: ~{hours:.1f} h of training needs {attempts} attempts of "
                    f"{runtime_h:.0f} h (the profile retries twice): raise resources.train.runtime or shorten it"
                )
    # Generation: every evaluated model and run, every benchmark x language x sample.
    n_trained = len(_run_names(config))
    observational = config["observational"]
    for entry in observational:
        disk["hub models"] += model_params_b(config, entry["name"], entry) * MODEL_BYTES_PER_PARAM
    languages = len(config["languages"])
    evaluated: list[tuple[dict[str, Any], float, int]] = []
    for model, spec in config["models"].items():
        evaluated.append((spec, model_params_b(config, model, spec), 1 + n_trained))
    for entry in observational:
        evaluated.append((entry, model_params_b(config, entry["name"], entry), 1))
    generate, score = families["generate"], families["score"]
    gen_runtime_h = (config["resources"].get("generate", {}).get("runtime") or 60) / 60
    for spec, params, n_runs in evaluated:
        evaluation = evaluation_for_model(config["evaluation"], spec)
        completion = settings["completion_share"]["evaluation"] * evaluation["max_new_tokens"]
        responses = sum(
            dataset_size(config, name)["items"] * languages * evaluation["n_samples"]
            for name in config["data"]["benchmarks"]
        )
        rate = _decode_rate(gpu_table(config, "generate"), params)
        start_s = settings["engine_start_s"] if config["evaluation"]["backend"] == "vllm" else 0.0
        job_h = (responses * completion / rate + start_s) / 3600
        jobs = n_runs * (1 if config["evaluation"]["group_benchmarks"] else len(config["data"]["benchmarks"]))
        generate.jobs += jobs
        if on_gpu["generate"]:
            generate.gpu_hours += n_runs * job_h * config["resources"]["generate"]["gpu"]
        else:
            generate.cpu_hours += n_runs * job_h
        if config["evaluation"]["group_benchmarks"] and job_h > gen_runtime_h:
            checks.append(
                f"generation of {spec.get('path', spec.get('source'))}: ~{job_h:.1f} h per job exceeds "
                f"resources.generate.runtime ({gen_runtime_h:.0f} h)"
            )
        disk["generations"] += n_runs * responses * completion * 4 / 3 / 1e9  # ~4 chars a token, Parquet ~1/3
        score.jobs += n_runs * len(config["data"]["benchmarks"])
        score.cpu_hours += n_runs * responses / SCORE_RESPONSES_PER_CPU_S / 3600
    if "grpo" not in training["methods"]:
        families.pop("train_grpo")
    if "sft" not in training["methods"]:
        families.pop("train_sft")
    checks += _node_checks(config)
    return Plan(families, runs, sizing, disk, checks, settings["gpu_type"] if on_gpu["train"] else "cpu")


def jobs_per_node(config: dict[str, Any], family: str) -> dict[str, int]:
    """How many jobs of a rule family fit one node of `plan.node`, by GPUs, CPUs and memory."""
    node = config["plan"]["node"]
    res = config["resources"].get(family, {})
    fits = {}
    if res.get("gpu"):
        fits["gpus"] = node["gpus"] // res["gpu"]
    if res.get("threads"):
        fits["cpus"] = node["cpus"] // res["threads"]
    if res.get("mem_mb"):
        fits["memory"] = node["mem_mb"] // res["mem_mb"]
    return fits


def _node_checks(config: dict[str, Any]) -> list[str]:
    checks = []
    for family in ("train", "generate"):
        fits = jobs_per_node(config, family)
        if "gpus" not in fits:
            continue
        short = {what: n for what, n in fits.items() if n < fits["gpus"]}
        if short:
            checks.append(
                f"resources.{family}: {fits['gpus']} jobs' GPUs fit a node of plan.node, but only "
                + ", ".join(f"{n} by {what}" for what, n in short.items())
            )
    return checks


# ------------------------------------------------------------------------------------- printing


def _fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def format_plan(config: dict[str, Any], plan: Plan) -> str:
    """The plan as text: per-family table, per-model sizing, checks, and the summary line last."""
    lines = [
        f"Plan for {len(plan.runs)} training runs on {plan.gpu_type} "
        f"(estimates from the config's sizes and pscale.plan's tables; `plan` in the config overrides them)",
        "",
        f"{'rule family':<12} {'jobs':>6} {'GPU-hours':>11} {'CPU-hours':>10} {'disk GB':>9} "
        f"{'API tokens in/out':>22} {'API USD':>9}",
    ]
    for family in plan.families.values():
        tokens = f"{_fmt(family.api_input_tokens / 1e6, 1)}M/{_fmt(family.api_output_tokens / 1e6, 1)}M"
        lines.append(
            f"{family.name:<12} {family.jobs:>6} {_fmt(family.gpu_hours):>11} {_fmt(family.cpu_hours, 1):>10} "
            f"{_fmt(family.disk_gb):>9} {tokens:>22} {_fmt(family.api_usd, 2):>9}"
            + (f"   ({'; '.join(family.notes)})" if family.notes else "")
        )
    total_jobs = sum(f.jobs for f in plan.families.values())
    lines.append(
        f"{'total':<12} {total_jobs:>6} {_fmt(plan.gpu_hours):>11} "
        f"{_fmt(sum(f.cpu_hours for f in plan.families.values()), 1):>10} "
        f"{_fmt(sum(f.disk_gb for f in plan.families.values())):>9} {'':>22} {_fmt(plan.api_usd, 2):>9}"
    )
    lines.append("(disk GB of a training family: checkpoints written over all its runs)")
    lines += ["", "Disk held at once (GB):"]
    lines += [f"  {what:<16} {_fmt(value)}" for what, value in plan.disk.items()]
    concurrent = config["plan"]["concurrent_training_jobs"]
    lines.append(f"  (checkpoints: save_total_limit + 1 during a save, for {concurrent} training jobs at once)")
    training = config["training"]
    lines += ["", "Training per model (step time estimated; checkpoint ~14 bytes/param under ZeRO-3 with Adam):"]
    for s in plan.sizing:
        steps = ", ".join(
            f"{m} {s.step_s[m]:.0f} s/step, save_steps {training[m].get('save_steps', 50)} = a checkpoint every "
            f"{s.save_every[m]:.1f} h (sized: {s.sized_save_steps[m]})"
            for m in s.save_every
        )
        lines.append(
            f"  {s.model}: {s.params_b:.2f}B params, checkpoint {s.checkpoint_gb:.0f} GB "
            f"({s.save_s:.0f} s to write), time-limit warning {s.warning_s} s; {steps}"
        )
    lines += ["", "Runs (first model):"]
    first = next(iter(config["models"]))
    for run in plan.runs:
        if run.model == first:
            lines.append(
                f"  {run.method}-{run.budget}-x{run.x}: {run.set_rows} prompts, {run.steps} steps, "
                f"{run.epochs:.2f} epochs, {run.prompts_seen} prompts seen, ~{run.hours:.1f} h"
            )
    for family in ("train", "generate"):
        fits = jobs_per_node(config, family)
        if fits:
            lines.append(
                f"Jobs per node of plan.node ({family}): " + ", ".join(f"{n} by {what}" for what, n in fits.items())
            )
    if plan.checks:
        lines += ["", "Check:"] + [f"  - {check}" for check in plan.checks]
    lines += ["", f"gpu_hours={plan.gpu_hours:.1f} disk_gb={plan.disk_gb:.1f} api_usd={plan.api_usd:.2f}"]
    return "\n".join(lines)
