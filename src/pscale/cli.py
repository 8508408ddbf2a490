"""`pscale <stage>`: every pipeline stage as a command, for running one stage by hand.

The Snakemake rules call exactly these commands (see each rule's log for the line), so a
researcher can rerun one job on a GPU node, outside the workflow, with the same result.
Stage settings come either as `--options JSON` (what the rules pass: one config section)
or from `--config FILE` (the pipeline config); either way validated against the config
schema with its defaults filled in, so a stage never repeats a default. A flag that stands for
a config key (--seed, --languages, ...) takes the --config value when it is not given.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pscale.config import load_config, validate_options
from pscale.errors import FREE_SPACE, UserError, is_disk_full
from pscale.figure_registry import FIGURES
from pscale.prompts import PromptStyle
from pscale.receipts import adopt, extra_inputs, fingerprint, kept, record
from pscale.runs import Run, runs_from_facts
from pscale.stages import STAGES, TRAINING_OPTIONS, WHOLE, schema_part, stage_options

log = logging.getLogger("pscale")

LANGUAGES_HELP = "comma-separated language codes (default: the config's `languages`)"


@functools.cache
def _config(path: str) -> dict[str, Any]:
    """The validated pipeline config, read once per command (stages ask it for several sections)."""
    return load_config(path)


def _json(value: str) -> Any:
    """A JSON flag's value: inline JSON, or @path to a JSON file."""
    try:
        return json.loads(Path(value[1:]).read_text(encoding="utf-8") if value.startswith("@") else value)
    except (OSError, json.JSONDecodeError) as err:
        raise UserError(f"not JSON or a readable @file.json: {value[:200]!r} ({err})") from None


def _options(args: argparse.Namespace, stage: str, only: tuple[str, ...] | None = None, **names: str) -> Any:
    """A stage's options (pscale.stages: which config keys): --options JSON (or @file.json) if
    given, validated against those keys' schema with defaults filled in; else read from --config."""
    if args.options:
        options = _json(args.options)
        if not isinstance(options, dict):
            raise UserError(f"--options: expected a JSON object, got {type(options).__name__}")
        return validate_options(options, schema_part(stage, only))
    return stage_options(stage, _config(args.config), only, **names)


def _or_config(args: argparse.Namespace, value: Any, section: Callable[[dict[str, Any]], Any]) -> Any:
    """A flag's value, or the --config value it stands for when the flag is not given."""
    return value if value is not None else section(_config(args.config))


def _paired(names: list[str], files: list[str], what: str, flag: str) -> dict[str, Path]:
    """name -> file of two flags given one for one, in the same order."""
    if len(names) != len(files):
        raise UserError(f"{len(names)} {what} but {len(files)} {flag}: give one file each")
    return dict(zip(names, map(Path, files), strict=True))


def _grouped(names: list[str], files: list[str], what: str, flag: str) -> dict[str, list[Path]]:
    """name -> its files, of two flags given one for one, in the same order (a name may repeat).
    Not shared with `_paired`: that helper is in most stages' code versions, and an edit to it
    would rerun every stage of a finished study."""
    if len(names) != len(files):
        raise UserError(f"{len(names)} {what} but {len(files)} {flag}: give one file each")
    grouped: dict[str, list[Path]] = {}
    for name, path in zip(names, files, strict=True):
        grouped.setdefault(name, []).append(Path(path))
    return grouped


def _languages(args: argparse.Namespace) -> list[str]:
    if args.languages:
        return args.languages.split(",")
    return _config(args.config)["languages"]


def _stage_parser(sub: Any, stage: str) -> argparse.ArgumentParser:
    """A stage's subcommand, described by the stage table (pscale.stages)."""
    return sub.add_parser(stage, help=STAGES[stage].help, description=STAGES[stage].help)


def _add_common(parser: argparse.ArgumentParser, stage: str) -> None:
    parser.add_argument("--config", default="config.yaml", help="pipeline config (default: %(default)s)")
    keys = STAGES[stage].options
    if keys:
        what = (
            f"the `{keys[WHOLE]}` block"
            if WHOLE in keys
            else "keys " + ", ".join(f"{o} (`{k}`)" for o, k in keys.items())
        )
        parser.add_argument("--options", help=f"JSON (or @file.json) with {what}; overrides --config")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads the job may use: torch threads, or scoring processes (default: %(default)s)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def _add_gpus(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gpus",
        type=int,
        default=0,
        help="GPUs the job was given; with N > 0 it stops at once unless torch can use N (default 0)",
    )


def _add_prompt_style(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--chat-template",
        choices=["auto", "none"],
        default="auto",
        help="auto: the tokenizer's chat template; none: plain-text prompts (base models)",
    )
    parser.add_argument("--system-prompt", default=None, help="optional system message")
    parser.add_argument(
        "--format-prompt",
        action="store_true",
        help="ask for <think>...</think> then \\boxed{} in the query language (prompt file `format_system`; "
        "config `format_prompt`); a --system-prompt replaces it",
    )


def cmd_demo_data(args: argparse.Namespace) -> None:
    from pscale.data.demo import make_demo_corpus
    from pscale.tables import write_parquet

    demo = functools.partial(_or_config, args)
    corpus = make_demo_corpus(
        demo(args.n_train, lambda c: c["data"]["demo"]["n_train"]),
        demo(args.n_test, lambda c: c["data"]["demo"]["n_test"]),
        demo(args.seed, lambda c: c["data"]["seed"]),
    )
    if args.source_dir:  # by hand: every dataset, <dir>/<dataset>.parquet
        names = list(corpus)
        sources = [str(Path(args.source_dir) / f"{name}.parquet") for name in names]
        references = [str(Path(args.reference_dir) / f"{name}.parquet") for name in names]
    else:
        names, sources, references = args.datasets or [], args.source or [], args.reference or []
    unknown = sorted(set(names) - set(corpus))
    if unknown:
        raise UserError(f"--datasets {unknown}: the demo corpus has {list(corpus)}")
    source_files = _paired(names, sources, "--datasets", "--source")
    reference_files = _paired(names, references, "--datasets", "--reference")
    for name in names:
        frame = corpus[name]
        write_parquet(frame, reference_files[name])
        write_parquet(frame.filter(frame["lang"] == "en").drop("lang"), source_files[name])
        log.info("%s: %d problems x %d languages", name, frame["id"].n_unique(), frame["lang"].n_unique())


def cmd_translate(args: argparse.Namespace) -> None:
    """Content options (--options / --config) + runtime options (--runtime-options), merged and validated."""
    from pscale.translate.options import merge_options
    from pscale.translate.stage import print_estimate, translate_dataset

    runtime = args.runtime_options or os.environ.get("PSCALE_TRANSLATION_RUNTIME")
    options = merge_options(_options(args, "translate"), _json(runtime) if runtime else None)
    if args.reference_corpus:
        options["reference_corpus"] = args.reference_corpus
    if args.estimate:
        print_estimate(Path(args.source), _languages(args), options, dataset=args.dataset)
        return
    languages = _languages(args)
    if args.out_dir:  # by hand: <dir>/<lang>.parquet
        args.output = [str(Path(args.out_dir) / f"{lang}.parquet") for lang in languages]
    missing = [
        flag
        for flag, value in (
            ("--output (or --out-dir)", args.output),
            ("--qc-out", args.qc_out),
            ("--usage-out", args.usage_out),
        )
        if not value
    ]
    if missing:
        raise UserError(f"pscale translate: {', '.join(missing)} required (unless --estimate)")
    outputs = _paired(languages, args.output, "--languages", "--output")
    translate_dataset(
        Path(args.source), outputs, options["backend"], options, args.dataset, Path(args.qc_out), Path(args.usage_out)
    )


def cmd_parallel_set(args: argparse.Namespace) -> None:
    from pscale.parallel_sets import file_language, subset_languages, write_parallel_set

    order = args.parallel_order.split(",") if args.parallel_order else _config(args.config)["parallel_order"]
    available = {file_language(Path(p)): Path(p) for p in args.translated}
    langs = subset_languages(args.x, order)
    missing = [lang for lang in langs if lang not in available]
    if missing:
        raise UserError(f"--translated has no <lang>.parquet for {missing} (needed for X={args.x})")
    files = {lang: available[lang] for lang in langs}
    seed = _or_config(args, args.seed, lambda c: c["data"]["seed"])
    write_parallel_set(files, Path(args.output), args.x, args.budget, args.train_size, seed)


def cmd_init_model(args: argparse.Namespace) -> None:
    from pscale.model_init import init_model

    arch = _options(args, "init-model", model=args.model_name)
    init_model(
        [Path(p) for p in args.corpus],
        Path(args.sft_file),
        Path(args.prompts),
        Path(args.output),
        arch,
        args.threads,
        format_prompt=args.format_prompt,
    )


def _style(args: argparse.Namespace, force_language: bool = False) -> PromptStyle:
    return PromptStyle(
        chat=args.chat_template != "none",
        system_prompt=args.system_prompt,
        force_language=force_language,
        format_prompt=args.format_prompt,
    )


def cmd_train(args: argparse.Namespace) -> None:
    from pscale.runtime import require_gpus
    from pscale.tables import check_model_folder
    from pscale.train import train_grpo, train_sft

    require_gpus(args.gpus, "this training job")
    check_model_folder(args.model)

    # An ablation (grpo_nolang) trains as GRPO: pscale.runs.trainer_of, inlined so that the run
    # naming module stays out of training's code version (an edit there retrains nothing).
    method = args.method.partition("_")[0]
    training = _options(args, "train", TRAINING_OPTIONS[method])
    common = {
        "model_path": args.model,
        "train_set": Path(args.train_set),
        "prompt_file": Path(args.prompts),
        "output_dir": Path(args.output),
        "work_dir": Path(args.work_dir),
        "threads": args.threads,
        "style": _style(args),
    }
    if method == "sft":
        train_sft(sft_options=training["sft"], **common)
    else:
        train_grpo(
            grpo_options=training["grpo"],
            reward_weights=training["reward_weights"],
            languages=_languages(args),
            scoring=training["scoring"],
            **common,
        )


def cmd_generate(args: argparse.Namespace) -> None:
    from pscale.generate import generate_benchmarks
    from pscale.generation.base import SamplingOptions
    from pscale.prompt_check import read_dropped
    from pscale.runtime import require_gpus
    from pscale.tables import check_model_folder

    require_gpus(args.gpus, "this generation job")
    check_model_folder(args.model)
    evaluation = _options(args, "generate")
    groups = {output: files for files, output, _ in _benchmark_groups(args)}
    # One receipt per benchmark, kept as each finishes: a retry, or a job that groups benchmarks
    # differently (evaluation.group_benchmarks), adopts the finished ones and generates the rest.
    extra = [args.config] if _config.cache_info().currsize else []  # a stage run by hand reads the config
    units = {unit[1][0]: unit for unit in _receipt_units(args, args.argv, args.output, extra)} if args.receipts else {}
    todo = [output for output in args.output if not (units and adopt([units[output]]))]
    generate_benchmarks(
        model_path=args.model,
        benchmarks=[([Path(f) for f in groups[output]], Path(output)) for output in todo],
        prompt_file=Path(args.prompts),
        options=SamplingOptions.from_config(evaluation),
        backend=evaluation["backend"],
        revision=args.revision,
        style=_style(args, evaluation["force_language"]),
        engine_options=evaluation["vllm"],
        threads=args.threads,
        dropped=read_dropped(Path(args.dropped)) if args.dropped else None,
        on_finished=(lambda output: record([units[str(output)]], extra)) if units else None,
    )


def cmd_check_prompts(args: argparse.Namespace) -> None:
    from pscale.prompt_check import RunSetting, check_prompts

    runs = _json(args.runs)
    if not isinstance(runs, list) or len(runs) != len(args.models):
        raise UserError(f"--runs: a JSON list with one entry per --models path ({len(args.models)})")
    part = "/properties/evaluation"
    format_prompt = args.format_prompt
    settings = [
        RunSetting.from_options(path, {**run, "evaluation": validate_options(run["evaluation"], part)}, format_prompt)
        for path, run in zip(args.models, runs, strict=True)
    ]
    files, names = [Path(f) for f in args.benchmark_files], args.benchmarks
    if len(files) % len(names):
        raise UserError(f"{len(files)} --benchmark-files do not split into {len(names)} --benchmarks")
    size = len(files) // len(names)
    benchmarks = {name: files[i * size : (i + 1) * size] for i, name in enumerate(names)}
    too_long = validate_options(runs[0]["evaluation"], part)["too_long"]
    check_prompts(
        args.model_name,
        settings,
        benchmarks,
        Path(args.prompts),
        too_long,
        Path(args.lengths_out),
        Path(args.dropped_out),
    )


def cmd_source(args: argparse.Namespace) -> None:
    from pscale.data.hub import write_hub_source

    spec = _options(args, "source", dataset=args.dataset)
    seed = _or_config(args, args.seed, lambda c: c["data"]["seed"])
    write_hub_source(
        spec,
        args.dataset,
        seed,
        Path(args.output),
        Path(args.qc_out) if args.qc_out else None,
        Path(args.revision_out) if args.revision_out else None,
    )


def cmd_fetch_model(args: argparse.Namespace) -> None:
    from pscale.models import fetch_model

    evaluation = _options(args, "fetch-model")
    commit, snapshot = fetch_model(
        args.model,
        Path(args.revision_out),
        Path(args.snapshot_out),
        revision=args.revision,
        cache_dir=args.cache_dir,
        engine_options=evaluation["vllm"],
        max_new_tokens=evaluation["max_new_tokens"],
    )
    log.info("%s: commit %s in %s", args.model, commit, snapshot)


def cmd_score(args: argparse.Namespace) -> None:
    from pscale.score import score_generations

    scoring = _options(args, "score")
    score_generations(Path(args.generations), Path(args.output), _languages(args), scoring, args.threads)


def _training_summaries(trainings: dict[str, Path], runs: dict[str, Run]) -> dict[tuple[str, Run], dict[str, Any]]:
    """(model, run) -> the run's training.json, from `<model>/<run>` labels and model folders."""
    from pscale.training_length import TRAINING_SUMMARY

    summaries = {}
    for label, folder in trainings.items():
        model, _, name = label.partition("/")
        run = _run(runs, name, "--training-labels")
        path = folder / TRAINING_SUMMARY if folder.is_dir() else folder
        try:
            summaries[(model, run)] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise UserError(
                f"training summary {path} cannot be read ({err}); remake the model with make run REDO={folder}"
            ) from None
    return summaries


def _run(runs: dict[str, Run], name: str, flag: str) -> Run:
    if name not in runs:
        raise UserError(f"{flag}: run '{name}' is not in --run-facts (what each run is: method, budget, X, seed)")
    return runs[name]


def cmd_tables(args: argparse.Namespace) -> None:
    from pscale.analysis import analyse, with_training, write_replicates
    from pscale.tables import write_csv

    options = _options(args, "tables")
    labels = _json(args.labels)
    if len(labels) != len(args.scores) or any(len(label) != 3 for label in labels):
        raise UserError(f"--labels needs one [model, run, benchmark] per --scores file ({len(args.scores)})")
    runs = runs_from_facts(_json(args.run_facts))
    files = [
        (model, _run(runs, run, "--labels"), benchmark, Path(path))
        for (model, run, benchmark), path in zip(labels, args.scores, strict=True)
    ]
    tables = analyse(
        files,
        options["parallel_order"],
        options["zero_baseline"],
        options["min_baseline"],
        replicates=options["bootstrap_replicates"],
        bootstrap_seed=options["bootstrap_seed"],
        confidence=options["confidence"],
        on_target_share=options["on_target_share"],
    )
    trainings = _paired(args.training_labels or [], args.trainings or [], "--training-labels", "--trainings")
    outputs = (
        (tables.accuracy, args.accuracy_out),
        (tables.mti, args.mti_out),
        (tables.gains, args.gains_out),
        (with_training(tables.runs, _training_summaries(trainings, runs)), args.runs_out),
    )
    for frame, path in outputs:
        write_csv(frame, path)
    write_replicates(tables.replicates, Path(args.replicates_out))


def cmd_fit(args: argparse.Namespace) -> None:
    import polars as pl

    from pscale.analysis import read_replicates
    from pscale.fit import scaling_law
    from pscale.tables import read_table, write_json

    options = _options(args, "fit")
    models = _or_config(args, args.models, lambda c: list(c["models"]))
    runs = read_table(
        args.runs, {"model": "string", "run": "string"}, what="runs table", csv_schema={"seed": pl.String}
    )
    fits = scaling_law(
        runs,
        read_replicates(Path(args.replicates)),
        options["fit_min_x"],
        options["confidence"],
        models,
    )
    write_json(fits, args.output)
    for name in ("mti", "accuracy"):
        curve = fits[name]
        if "alpha" in curve:
            log.info(
                "%s: f(X) = %.4g * X^%.3f (beta CI %s), gap at X=1 %.4g",
                name,
                curve["alpha"],
                curve["beta"],
                [None if v is None else round(v, 4) for v in curve["beta_ci"]],
                curve["gap"],
            )


def cmd_figures(args: argparse.Namespace) -> None:
    from pscale.figures import draw, write_headline, write_summary, write_tables_html

    # a label given more than once: that run's seeds, averaged into one line
    histories = _grouped(args.history_labels or args.histories, args.histories, "--history-labels", "--histories")
    figures = _paired(args.names, args.output, "--names", "--output")
    for name, output in figures.items():
        draw(
            name,
            output,
            accuracy=args.accuracy,
            gains=args.gains,
            runs=args.runs,
            fits=args.fits,
            histories=histories,
            languages=args.languages.split(",") if args.languages else None,
            parallel_order=args.parallel_order.split(",") if args.parallel_order else None,
        )
    if args.headline:
        name, rst = args.headline
        if name not in figures:
            raise UserError(f"--headline {name}: not one of the figures drawn (--names {' '.join(figures)})")
        write_headline(Path(figures[name]), Path(rst))
    if args.tables_html:
        named = {"runs": args.runs, "MTI": args.mti, "gains": args.gains, "accuracy": args.accuracy}
        write_tables_html({k: Path(v) for k, v in named.items() if v}, Path(args.tables_html))
    if args.summary:
        accuracy = Path(args.accuracy) if args.accuracy else None
        write_summary(Path(args.runs), Path(args.gains), Path(args.fits), Path(args.summary), accuracy)


def cmd_plan(args: argparse.Namespace) -> None:
    from pscale.plan import PlanError, build_plan, format_plan

    config = load_config(args.configfile or args.config)
    try:
        print(format_plan(config, build_plan(config)))
    except PlanError as err:
        raise UserError(str(err)) from None


def _demo_data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--datasets", nargs="+", help="the demo datasets to write (demo_train, demo_test, demo_hard)")
    p.add_argument("--source", nargs="+", help="English source file of each of --datasets, in order")
    p.add_argument("--reference", nargs="+", help="all-language parallel corpus file of each of --datasets, in order")
    p.add_argument("--source-dir", help="instead: every dataset's source file, <dir>/<dataset>.parquet")
    p.add_argument("--reference-dir", help="with --source-dir: every dataset's corpus file, <dir>/<dataset>.parquet")
    p.add_argument("--n-train", type=int, help="problems per language in demo_train (default: the config's data.demo)")
    p.add_argument("--n-test", type=int, help="problems per language in demo_test and demo_hard (default: the config)")
    p.add_argument("--seed", type=int, help="generator seed (default: the config's data.seed)")


def _source_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", required=True, help="dataset name: a key under data.hub")
    p.add_argument(
        "--seed", type=int, help="seed for subsampling and option shuffling (default: the config's data.seed)"
    )
    p.add_argument("--output", required=True)
    p.add_argument("--qc-out", default=None, help="Parquet: rows skipped as unreadable, with the reason")
    p.add_argument("--revision-out", default=None, help="text file: the hub commit (or local digest) loaded")


def _translate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", required=True, help="English source Parquet (id, question, answer)")
    p.add_argument(
        "--dataset",
        required=True,
        help="dataset name (in the QC table and usage record; fills {dataset} in config paths)",
    )
    p.add_argument("--reference-corpus", help="reference backend: the parallel corpus (default: the config's)")
    p.add_argument("--languages", help=LANGUAGES_HELP)
    p.add_argument("--output", nargs="+", help="the translated file of each of --languages, in order")
    p.add_argument("--out-dir", help="instead of --output: <dir>/<lang>.parquet for each of --languages")
    p.add_argument("--estimate", action="store_true", help="print request/token/cost estimate only (openai)")
    p.add_argument(
        "--runtime-options",
        help="JSON (or @file.json) merged into translation.openai: operational settings (rpm, tpm, concurrency, "
        "timeouts, mode, prices, cache...) that the workflow keeps out of its rerun-triggering params "
        "(default: $PSCALE_TRANSLATION_RUNTIME, which the workflow sets)",
    )
    p.add_argument("--qc-out", help="QC table Parquet (required unless --estimate)")
    p.add_argument("--usage-out", help="API usage/cost JSON (required unless --estimate)")


def _parallel_set_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--translated",
        nargs="+",
        required=True,
        help="the training data's translated files, one per language (read from each file's `lang`; "
        "extra languages are ignored)",
    )
    p.add_argument("--x", type=int, required=True, help="number of training languages, English included")
    p.add_argument("--budget", choices=["grow", "fixed"], default="grow")
    p.add_argument("--train-size", type=int, default=None, help="problems taken from the pool (default all)")
    p.add_argument("--seed", type=int, help="seed for the problem sample (default: the config's data.seed)")
    p.add_argument("--parallel-order", help="comma-separated order of parallel languages")
    p.add_argument("--output", required=True)


def _init_model_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-name", default="tiny", help="key under `models` in --config")
    p.add_argument("--corpus", nargs="+", required=True, help="Parquet files whose text trains the tokenizer")
    p.add_argument("--sft-file", required=True, help="English Parquet with question + solution")
    p.add_argument("--prompts", required=True, help="the question prompts (resources/prompts.yaml)")
    p.add_argument("--output", required=True, help="save_pretrained folder")
    p.add_argument(
        "--format-prompt",
        action="store_true",
        help="warm-start on prompts that ask for the answer format (config `format_prompt`)",
    )


def _training_method(label: str) -> str:
    """`train --method`: grpo, sft, or an ablation's label grpo_<ablation> (pscale.runs)."""
    from pscale.runs import ABLATION_PATTERN

    if not re.fullmatch(rf"sft|grpo(_{ABLATION_PATTERN})?", label):
        raise argparse.ArgumentTypeError(f"'{label}' is not grpo, sft or grpo_<ablation>")
    return label


def _train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--method",
        type=_training_method,
        default="grpo",
        help="grpo or sft; an ablation's runs (config training.ablations) name it as grpo_<ablation>, "
        "trained as GRPO with the reward weights in --options",
    )
    p.add_argument("--model", required=True, help="initial model: hub id or local folder")
    p.add_argument("--train-set", required=True)
    p.add_argument("--prompts", required=True, help="the question prompts (resources/prompts.yaml)")
    p.add_argument("--output", required=True, help="final model folder (save_pretrained)")
    p.add_argument("--work-dir", required=True, help="checkpoints; training resumes from the last one")
    p.add_argument("--languages", help=LANGUAGES_HELP)
    _add_prompt_style(p)
    _add_gpus(p)


def _generate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="hub id or local folder")
    p.add_argument("--revision", default=None)
    benchmarks = p.add_mutually_exclusive_group(required=True)
    benchmarks.add_argument(
        "--benchmark-files",
        nargs="+",
        help="translated files (one per language) of each benchmark, benchmark by benchmark in "
        "--benchmarks' order (else --output's), the same number each; several benchmarks: one engine start",
    )
    benchmarks.add_argument(
        "--benchmark-dir",
        nargs="+",
        help="instead: folder(s) with a benchmark's <lang>.parquet for each of --languages",
    )
    p.add_argument("--prompts", required=True, help="the question prompts (resources/prompts.yaml)")
    p.add_argument("--languages", help=f"with --benchmark-dir: {LANGUAGES_HELP}")
    p.add_argument(
        "--benchmarks",
        nargs="+",
        help="with --benchmark-files: the benchmarks they hold, in order; each --output (<benchmark>.parquet) "
        "takes its own, so a job may generate some of them (the workflow passes all, in both groupings)",
    )
    p.add_argument("--output", required=True, nargs="+", help="one generations file per benchmark")
    p.add_argument(
        "--dropped",
        help="CSV (pscale check-prompts --dropped-out): problems left out of every language, by benchmark "
        "(the file name of its --output)",
    )
    _add_prompt_style(p)
    _add_gpus(p)


def _check_prompts_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-name", required=True, help="the initial model (key under `models`)")
    p.add_argument("--models", nargs="+", required=True, help="folder (or hub id) of each run kind's tokenizer")
    p.add_argument(
        "--runs",
        required=True,
        help="JSON (or @file.json): per --models path, {run, chat_template, system_prompt, evaluation} with the "
        "merged evaluation settings of that run kind (the initial model's, then each observational model's)",
    )
    p.add_argument("--benchmarks", nargs="+", required=True, help="benchmark names, in --benchmark-files' order")
    p.add_argument(
        "--benchmark-files", nargs="+", required=True, help="every benchmark's files, benchmark by benchmark"
    )
    p.add_argument("--prompts", required=True, help="the question prompts (resources/prompts.yaml)")
    p.add_argument(
        "--format-prompt", action="store_true", help="the prompts ask for the format (config `format_prompt`)"
    )
    p.add_argument("--lengths-out", required=True, help="Parquet: every prompt's token count and the room it has")
    p.add_argument("--dropped-out", required=True, help="CSV: problems left out (evaluation.too_long: drop)")


def _fetch_model_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="hub id or local folder")
    p.add_argument("--revision", default=None, help="branch, tag or commit (default: main)")
    p.add_argument("--cache-dir", default=None, help="hub cache (default: $HF_HUB_CACHE or $HF_HOME/hub)")
    p.add_argument("--revision-out", required=True, help="file: the resolved commit")
    p.add_argument("--snapshot-out", required=True, help="file: the local folder jobs load")


def _score_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--generations", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--languages", help=LANGUAGES_HELP)


def _tables_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scores", nargs="+", required=True, help="score files (pscale score --output)")
    p.add_argument(
        "--labels",
        required=True,
        help="JSON (or @file.json): [model, run, benchmark] of each --scores file, in order, e.g. "
        '[["tiny", "init", "demo_test"], ["tiny", "grpo-grow-x2-s0", "demo_test"]]',
    )
    p.add_argument(
        "--run-facts",
        required=True,
        help="JSON (or @file.json): what each run of --labels is, by name (the seed is never read from a name), "
        'e.g. {"init": {"method": "none", "budget": "none", "n_languages": 0, "seed": null}, '
        '"grpo-grow-x2-s0": {"method": "grpo", "budget": "grow", "n_languages": 2, "seed": 0}}',
    )
    p.add_argument("--accuracy-out", required=True)
    p.add_argument("--mti-out", required=True)
    p.add_argument("--gains-out", required=True, help="gain over the initial model per language (CSV)")
    p.add_argument("--runs-out", required=True, help="per run: means over benchmarks (CSV)")
    p.add_argument("--replicates-out", required=True, help="bootstrap replicates of the runs table (Parquet)")
    p.add_argument(
        "--trainings",
        nargs="*",
        help="trained model folders (or their training.json): steps, epochs and prompts seen go to runs.csv",
    )
    p.add_argument("--training-labels", nargs="*", help="<model>/<run> of each of --trainings, in order")


def _fit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", required=True, help="runs table (pscale tables --runs-out)")
    p.add_argument("--models", nargs="+", help="the models, main one first (default: the config's `models`, in order)")
    p.add_argument("--replicates", required=True, help="its bootstrap replicates (pscale tables --replicates-out)")
    p.add_argument("--output", required=True)


def _plan_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--configfile", help="the pipeline config to plan (as snakemake --configfile; default --config)")


def _figures_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--names",
        nargs="*",
        default=[],
        choices=list(FIGURES),
        metavar="NAME",
        help="the figure drawn into each --output file, in order: "
        + "; ".join(f"{f.name} ({f.caption}, from --{' --'.join(f.inputs)})" for f in FIGURES.values()),
    )
    p.add_argument("--output", nargs="*", default=[], help="figure files (format from the suffix), one per --names")
    p.add_argument("--summary", help="the results summary (reStructuredText; needs --runs, --gains, --fits)")
    p.add_argument(
        "--headline",
        nargs=2,
        metavar=("NAME", "RST"),
        help="write RST: the figure NAME (one of --names) embedded as an image, for the report's first page",
    )
    p.add_argument("--accuracy", help="accuracy table (heatmaps)")
    p.add_argument("--gains", help="gains table (language_gain, summary)")
    p.add_argument("--runs", help="runs table (comparisons, summary)")
    p.add_argument("--mti", help="MTI table (only shown in --tables-html)")
    p.add_argument("--tables-html", help="write the tables given (runs, MTI, gains, accuracy) as one HTML page")
    p.add_argument("--fits", help="scaling-law fits, JSON (scaling_law, summary)")
    p.add_argument("--histories", nargs="*", default=[], help="trained model folders (or their log_history.json)")
    p.add_argument(
        "--history-labels",
        nargs="*",
        help="legend label of each of --histories, in order (default: the paths as given); histories with "
        "the same label (a run's seeds) are averaged into one line",
    )
    p.add_argument("--languages", help="comma-separated language columns of the heatmaps (default: the table's)")
    p.add_argument(
        "--parallel-order",
        help="comma-separated order in which runs add parallel languages: heatmap columns follow it and each "
        "run's training languages are outlined",
    )


#: Each stage's own arguments (--config, --options, --threads and -v come with every stage).
STAGE_ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "demo-data": _demo_data_arguments,
    "source": _source_arguments,
    "translate": _translate_arguments,
    "parallel-set": _parallel_set_arguments,
    "init-model": _init_model_arguments,
    "train": _train_arguments,
    "generate": _generate_arguments,
    "check-prompts": _check_prompts_arguments,
    "fetch-model": _fetch_model_arguments,
    "score": _score_arguments,
    "tables": _tables_arguments,
    "fit": _fit_arguments,
    "plan": _plan_arguments,
    "figures": _figures_arguments,
}


def build_parser() -> argparse.ArgumentParser:
    """`pscale <stage>`: one subcommand per stage of the stage table (pscale.stages), each with
    its own arguments, the common ones and its command function `cmd_<stage>`."""
    parser = argparse.ArgumentParser(
        prog="pscale",
        description="parallel-scaling: run one stage of the cross-lingual transfer pipeline by hand.",
        epilog="The whole pipeline runs with `snakemake`; see README.md.",
    )
    sub = parser.add_subparsers(dest="stage", required=True, metavar="<stage>")
    for stage in STAGES:
        stage_parser = _stage_parser(sub, stage)
        STAGE_ARGUMENTS[stage](stage_parser)
        _add_common(stage_parser, stage)
        stage_parser.set_defaults(func=globals()[f"cmd_{stage.replace('-', '_')}"])
    return parser


#: Stages that keep no receipts: translation resumes from its own cache (it pays per request) and
#: fetch-model asks the hub for the newest commit each time.
NOT_ADOPTED = frozenset({"translate", "fetch-model"})
#: Stages that adopt and record their receipts themselves, piece by piece (cmd_generate: one
#: benchmark at a time, as each finishes).
SELF_RECEIPTED = frozenset({"generate"})


def _results_of(args: argparse.Namespace) -> list[str]:
    """What a stage makes (its receipts cover): its outputs, not its checkpoint folder."""
    return [path for path in _outputs_of(args) if path != getattr(args, "work_dir", None)]


def _benchmark_groups(args: argparse.Namespace) -> list[tuple[list[str], str, list[str]]]:
    """(files, output, the arguments that name its files) of each benchmark a `generate` job
    writes. --benchmark-files are split evenly into --benchmarks (else one group per --output) and
    each --output takes the group of its name; by hand, --benchmark-dir holds <lang>.parquet files."""
    if args.benchmark_dir:
        if len(args.benchmark_dir) != len(args.output):
            raise UserError(f"{len(args.benchmark_dir)} --benchmark-dir but {len(args.output)} --output: give one each")
        languages = _languages(args)
        return [
            ([str(Path(folder) / f"{lang}.parquet") for lang in languages], output, ["--benchmark-dir", folder])
            for folder, output in zip(args.benchmark_dir, args.output, strict=True)
        ]
    files, names = args.benchmark_files, args.benchmarks or [Path(o).stem for o in args.output]
    if len(files) % len(names):
        raise UserError(f"{len(files)} --benchmark-files do not split into {len(names)} benchmarks")
    size = len(files) // len(names)
    by_name = {name: files[i * size : (i + 1) * size] for i, name in enumerate(names)}
    unknown = [o for o in args.output if Path(o).stem not in by_name]
    if unknown:
        raise UserError(f"--output {' '.join(unknown)}: no benchmark of that name in --benchmarks {' '.join(names)}")
    return [(by_name[Path(o).stem], o, ["--benchmark-files", *by_name[Path(o).stem]]) for o in args.output]


#: The arguments of `pscale generate` that say which benchmarks a job writes.
_BENCHMARK_ARGS = frozenset({"--benchmark-files", "--benchmark-dir", "--benchmarks", "--output"})


def _receipt_units(
    args: argparse.Namespace, argv: list[str], outputs: list[str], extra: list[str]
) -> list[tuple[str, list[str]]]:
    """(fingerprint, outputs) of each piece of a job's work that has a receipt of its own: one per
    benchmark for `generate` (a benchmark's generations depend on its own files only, so a job of
    one benchmark adopts what a job of all benchmarks made), else the whole job."""
    written = _outputs_of(args)  # outputs and the checkpoint folder: not inputs of the fingerprint
    if args.stage != "generate":
        return [(fingerprint(args.stage, argv, written, extra), outputs)]
    base, skipping = [], False
    for token in argv:  # the command without the arguments that name its benchmarks
        if token in _BENCHMARK_ARGS:
            skipping = True
        elif token.startswith("--") or not skipping:
            skipping = False
            base.append(token)
    return [
        (fingerprint("generate", [*base, *named, "--output", output], written, extra), [output])
        for _, output, named in _benchmark_groups(args)
    ]


def _outputs_of(args: argparse.Namespace) -> list[str]:
    """The files and folders a stage writes (its --output, --*-out, --summary, --work-dir flags)."""
    found: list[str] = []
    for name, value in vars(args).items():
        if name == "output" or name.endswith("_out") or name in ("summary", "work_dir", "source", "reference"):
            if args.stage == "translate" and name == "source":
                continue
            found += [value] if isinstance(value, str) else list(value or [])
    return found


def _full_folder(outputs: list[str]) -> Path | None:
    """The output (file or folder) whose file system has less than 1 MiB left, if any."""
    for output in outputs:
        folder = Path(output).absolute()
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if shutil.disk_usage(folder).free < 1 << 20:
            return Path(output)
    return None


def no_space_message(err: BaseException, full: Path | None, outputs: list[str]) -> str:
    """'no space left on <folder>': the file being written's folder, else the output on the full disk."""
    filename = getattr(err, "filename", None)
    where = Path(filename).parent if filename else full if full is not None else Path(outputs[0]).parent
    return f"no space left on {where} (writing {filename or ', '.join(outputs)}): {FREE_SPACE}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from pscale.runtime import configure_logging

    configure_logging(args.verbose)
    outputs = _results_of(args)
    receipts = args.stage not in NOT_ADOPTED and kept(outputs) and os.environ.get("PSCALE_ADOPT", "1") != "0"
    command = sys.argv[1:] if argv is None else argv
    _config.cache_clear()  # (main may run several times in one process: count this stage's reads only)
    args.argv, args.receipts = command, receipts
    try:
        if args.stage in SELF_RECEIPTED:
            args.func(args)
            return 0
        if receipts and adopt(_receipt_units(args, command, outputs, extra_inputs(outputs))):
            return 0
        args.func(args)
        if receipts:  # a stage that fell back on --config (run by hand) depends on that file too
            extra = [args.config] if _config.cache_info().currsize else []
            record(_receipt_units(args, command, outputs, extra), extra)
    except UserError as err:
        # The user's input (config, data file, endpoint): the message names it; the traceback with --verbose.
        log.error("%s", err, exc_info=args.verbose)
        return 1
    except Exception as err:
        # A full disk mid-save (a checkpoint, a model, generations) is no bug and no corrupt input;
        # torch.save says only "unexpected pos", so a write error with no room left counts too.
        outputs = _outputs_of(args)
        full = _full_folder(outputs)
        if not (is_disk_full(err) or (isinstance(err, OSError | RuntimeError) and full is not None)):
            raise
        log.error("%s", no_space_message(err, full, outputs), exc_info=args.verbose)
        return 1
    # Anything else (KeyError, ValueError, TypeError, ...) is a bug: Python prints its full traceback.
    return 0


if __name__ == "__main__":
    sys.exit(main())
