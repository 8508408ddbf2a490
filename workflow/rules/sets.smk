# Parallel training sets: English + the first X-1 languages of `parallel_order`.


rule parallel_set:
    input:
        translated(TRAIN_DATASET, LANGUAGES),
    output:
        results("data/sets/{budget}-x{x}.parquet"),
    log:
        results("logs/parallel_set/{budget}-x{x}.log"),
    conda:
        "../../envs/data.yaml"
    params:
        order=",".join(config["parallel_order"]),
        train_size=train_size_arg(),
        seed=config["data"]["seed"],
        code=CODE["parallel-set"],
    shell:
        "pscale parallel-set --translated {input}"
        " --x {wildcards.x} --budget {wildcards.budget} --parallel-order {params.order}"
        " --seed {params.seed} {params.train_size}"
        " --output {output} > {log} 2>&1"
