# Initial models built from scratch (the demo's tiny Qwen2). Hub models need no rule.


rule init_model:
    input:
        corpus=translated(TRAIN_DATASET),
        sft=f"results/data/translated/{TRAIN_DATASET}/en.parquet",
        prompts=PROMPTS,
    output:
        directory("results/models/{model}/init"),
    params:
        options=scratch_options,
    threads: res("init_model", "threads")
    resources:
        mem_mb=res("init_model", "mem_mb"),
        runtime=res("init_model", "runtime"),
    log:
        "results/logs/init_model/{model}.log",
    conda:
        "../../envs/train.yaml"
    shell:
        "pscale init-model --corpus {input.corpus} --sft-file {input.sft} --prompts {input.prompts}"
        " --output {output} --options {params.options:q} --threads {threads} > {log} 2>&1"
