# Post-training: one job per (initial model, method, parallel set, seed); the seed (config
# `seeds`) is TRL's `seed` (common.smk: training_options). Checkpoints live outside the output
# folder (results/work/, common.smk: train_work_dir), so a failed or preempted job resumes
# instead of restarting; they are deleted once the final model is saved.
#
# One rule per method (`train_grpo`, `train_sft`: rule names that cluster profiles set
# resources by), the second the first with its method; `{method}` is fixed by each rule's
# wildcard constraint. An ablation (config `training.ablations`) is a GRPO run whose method
# label carries its name (grpo_nolang) and whose reward weights are its own.


rule train_grpo:
    input:
        model=initial_model_input,
        train_set=results("data/sets/{budget}-x{x}.parquet"),
        prompts=PROMPTS,
    output:
        model=directory(results("models/{model}/{method}-{budget}-x{x}-s{seed}")),
    log:
        results("logs/train/{model}/{method}-{budget}-x{x}-s{seed}.log"),
    wildcard_constraints:
        method=f"grpo(_{ABLATION_PATTERN})?",
    # First when jobs wait for a core: training is the long pole (all evaluation waits on it), the
    # initial model's prompt check and generation can come later (the demo: a minute sooner).
    priority: 1
    conda:
        "../../envs/train.yaml"
    threads: res("train", "threads")
    resources:
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
        gpu=res("train", "gpu"),
        slurm_extra=train_slurm_extra,
    params:
        model_path=train_model_path,
        work_dir=train_work_dir,
        options=training_options,
        style=train_prompt_style,
        languages=",".join(LANGUAGES),
        launcher=TRAIN_LAUNCHER,
        code=CODE["train"],
    shell:
        "HF_HUB_OFFLINE=1 {params.launcher} train --method {wildcards.method} --model {params.model_path}"
        " --train-set {input.train_set} --prompts {input.prompts} --output {output.model}"
        " --work-dir {params.work_dir} --languages {params.languages} {params.style} --options {params.options:q}"
        " --threads {threads} --gpus {resources.gpu} > {log} 2>&1"


use rule train_grpo as train_sft with:
    wildcard_constraints:
        method="sft",
