# Evaluation in two rules: `generate` loads a model once for all languages of every benchmark
# (or of one benchmark: `evaluation.group_benchmarks: false`); `score` grades each benchmark on
# CPU, so a new grader or language identifier re-scores without regenerating.


# One rule for both groupings (config `evaluation.group_benchmarks`): a job per model and run
# (the engine starts once for every benchmark; each still gets its own generations file) or per
# benchmark. Inputs, params and command are the same in both, so switching changes only which
# outputs a job writes: Snakemake reruns nothing, and a benchmark a job of the other grouping
# finished is adopted from its receipt (pscale.receipts), never generated again.
rule generate:
    input:
        model=eval_model_input,
        benchmarks=all_benchmark_files,
        prompts=PROMPTS,
        dropped=checked_prompts,
    output:
        GENERATIONS,
    log:
        GENERATE_LOG,
    conda:
        "../../envs/generate.yaml"
    threads: res("generate", "threads")
    resources:
        mem_mb=res("generate", "mem_mb"),
        runtime=res("generate", "runtime"),
        gpu=res("generate", "gpu"),
    params:
        model_path=eval_model_path,
        style=eval_prompt_style,
        options=evaluation_options,
        benchmarks=" ".join(EVAL_DATASETS),
        code=CODE["generate"],
    shell:
        "HF_HUB_OFFLINE=1 pscale generate --model {params.model_path} --benchmarks {params.benchmarks}"
        " --benchmark-files {input.benchmarks} --prompts {input.prompts} --dropped {input.dropped}"
        " {params.style} --output {output} --options {params.options:q}"
        " --threads {threads} --gpus {resources.gpu} > {log} 2>&1"


# Before any generation job: every prompt of every benchmark x language, rendered with the chat
# template and tokenised by each model's tokenizer (the initial model's and its observational
# models'), must fit max_model_len minus max_new_tokens (evaluation.too_long: fail stops here,
# naming the item; drop lists it and generation leaves it out of every language). Local: seconds
# of CPU, and a login node sees the fetched snapshots.
rule check_prompts:
    input:
        models=check_model_input,
        benchmarks=all_benchmark_files,
        prompts=PROMPTS,
    output:
        **prompt_check("{model}"),
    log:
        results("logs/check_prompts/{model}.log"),
    localrule: True
    conda:
        "../../envs/generate.yaml"
    params:
        paths=check_model_paths,
        runs=check_prompt_runs,
        benchmarks=" ".join(EVAL_DATASETS),
        format_prompt=format_prompt_arg(),
        code=CODE["check-prompts"],
    shell:
        "HF_HUB_OFFLINE=1 pscale check-prompts --model-name {wildcards.model} --models {params.paths}"
        " --runs {params.runs:q} --benchmarks {params.benchmarks} --benchmark-files {input.benchmarks}"
        " --prompts {input.prompts}{params.format_prompt} --lengths-out {output.lengths}"
        " --dropped-out {output.dropped} > {log} 2>&1"


rule score:
    input:
        results("eval/generations/{model}/{run}/{benchmark}.parquet"),
    output:
        results("eval/scores/{model}/{run}/{benchmark}.parquet"),
    log:
        results("logs/score/{model}/{run}/{benchmark}.log"),
    conda:
        "../../envs/score.yaml"
    threads: res("score", "threads")
    resources:
        mem_mb=res("score", "mem_mb"),
        runtime=res("score", "runtime"),
    params:
        options=scoring_options,
        languages=",".join(LANGUAGES),
        code=CODE["score"],
    shell:
        "pscale score --generations {input} --output {output} --languages {params.languages}"
        " --options {params.options:q} --threads {threads} > {log} 2>&1"


# Runs that share another run's training set (common.smk: SHARED_RUNS, the X = 1 runs of the
# fixed budget) get that run's scores, copied: nothing is trained, generated or scored twice.
if SHARED_RUNS:

    rule share_scores:
        input:
            shared_scores,
        output:
            expand(results("eval/scores/{{model}}/{{run}}/{benchmark}.parquet"), benchmark=EVAL_DATASETS),
        log:
            results("logs/share_scores/{model}/{run}.log"),
        wildcard_constraints:
            run="|".join(re.escape(run) for run in SHARED_RUNS),
        localrule: True
        run:
            copy_files(input, output, log[0])

    ruleorder: share_scores > score
