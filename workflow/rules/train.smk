# Post-training: one job per (initial model, parallel set). Checkpoints live outside the
# output folder (results/work/), so a failed or pre-empted job resumes instead of restarting.


rule train_grpo:
    input:
        model=initial_model_input,
        train_set=parallel_set_file,
        prompts=PROMPTS,
    output:
        model=directory("results/models/{model}/{trained_run}"),
        history="results/models/{model}/{trained_run}/log_history.json",
    params:
        model_path=train_model_path,
        options=training_options,
        languages=",".join(LANGUAGES),
    threads: res("train", "threads")
    resources:
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
        gpu=res("train", "gpu"),
    log:
        "results/logs/train/{model}/{trained_run}.log",
    conda:
        "../../envs/train.yaml"
    shell:
        "pscale train --model {params.model_path} --train-set {input.train_set} --prompts {input.prompts}"
        " --output {output.model} --work-dir results/work/{wildcards.model}/{wildcards.trained_run}"
        " --languages {params.languages} --options {params.options:q} --threads {threads} > {log} 2>&1"
