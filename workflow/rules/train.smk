# Post-training: one job per (initial model, method, parallel set, seed); the seed (config
# `seeds`) is TRL's `seed` (common.smk: grpo_options, sft_options). Checkpoints live outside
# the output folder (results/work/), so a failed or pre-empted job resumes instead of
# restarting; they are deleted once the final model is saved.


rule train_grpo:
    input:
        model=initial_model_input,
        train_set="results/data/sets/{budget}-x{x}.parquet",
        prompts=PROMPTS,
    output:
        model=directory("results/models/{model}/grpo-{budget}-x{x}-s{seed}"),
    params:
        model_path=train_model_path,
        options=grpo_options,
        style=train_prompt_style,
        languages=",".join(LANGUAGES),
        launcher=TRAIN_LAUNCHER,
        code=CODE["train"],
    threads: res("train", "threads")
    resources:
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
        gpu=res("train", "gpu"),
    log:
        "results/logs/train/{model}/grpo-{budget}-x{x}-s{seed}.log",
    conda:
        "../../envs/train.yaml"
    shell:
        "HF_HUB_OFFLINE=1 {params.launcher} train --method grpo --model {params.model_path} --train-set {input.train_set}"
        " --prompts {input.prompts} --output {output.model}"
        " --work-dir results/work/{wildcards.model}/grpo-{wildcards.budget}-x{wildcards.x}-s{wildcards.seed}"
        " --languages {params.languages} {params.style} --options {params.options:q}"
        " --threads {threads} --gpus {resources.gpu} > {log} 2>&1"


rule train_sft:
    input:
        model=initial_model_input,
        train_set="results/data/sets/{budget}-x{x}.parquet",
        prompts=PROMPTS,
    output:
        model=directory("results/models/{model}/sft-{budget}-x{x}-s{seed}"),
    params:
        model_path=train_model_path,
        options=sft_options,
        style=train_prompt_style,
        launcher=TRAIN_LAUNCHER,
        code=CODE["train"],
    threads: res("train", "threads")
    resources:
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
        gpu=res("train", "gpu"),
    log:
        "results/logs/train/{model}/sft-{budget}-x{x}-s{seed}.log",
    conda:
        "../../envs/train.yaml"
    shell:
        "HF_HUB_OFFLINE=1 {params.launcher} train --method sft --model {params.model_path} --train-set {input.train_set}"
        " --prompts {input.prompts} --output {output.model}"
        " --work-dir results/work/{wildcards.model}/sft-{wildcards.budget}-x{wildcards.x}-s{wildcards.seed}"
        " {params.style} --options {params.options:q} --threads {threads} --gpus {resources.gpu} > {log} 2>&1"
