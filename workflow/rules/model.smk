# Initial models built from scratch (the demo's tiny Qwen2). Hub models need no rule.


rule init_model:
    input:
        corpus=translated(TRAIN_DATASET),
        sft=f"{RESULTS}/data/translated/{TRAIN_DATASET}/en.parquet",
        prompts=PROMPTS,
    output:
        directory(results("models/{model}/init")),
    log:
        results("logs/init_model/{model}.log"),
    conda:
        "../../envs/train.yaml"
    threads: res("init_model", "threads")
    resources:
        mem_mb=res("init_model", "mem_mb"),
        runtime=res("init_model", "runtime"),
    params:
        options=scratch_options,
        format_prompt=format_prompt_arg(),
        code=CODE["init-model"],
    shell:
        "pscale init-model --corpus {input.corpus} --sft-file {input.sft} --prompts {input.prompts}"
        " --output {output} --options {params.options:q}{params.format_prompt} --threads {threads} > {log} 2>&1"


# Hub models: downloaded once, on the node that runs Snakemake (compute nodes often have no
# network), into config `paths.hf_cache`; the resolved commit goes to REVISION and the local
# folder to SNAPSHOT, which the training and generation jobs load offline. A gated model, a
# missing login or a max_model_len longer than the model's context stop here, in one sentence.
rule fetch_model:
    output:
        revision=results("models/{hub_model}/REVISION"),
        snapshot=results("models/{hub_model}/SNAPSHOT"),
    log:
        results("logs/fetch_model/{hub_model}.log"),
    wildcard_constraints:
        hub_model="|".join(re.escape(name) for name in HUB_MODELS) or "(?!x)x",
    localrule: True
    conda:
        "../../envs/data.yaml"
    params:
        path=hub_model_path,
        revision=hub_model_revision_arg,
        cache=hf_cache_arg(),
        options=hub_model_check_options,
        code=CODE["fetch-model"],
    shell:
        "pscale fetch-model --model {params.path} {params.revision} {params.cache}"
        " --revision-out {output.revision} --snapshot-out {output.snapshot} --options {params.options:q} > {log} 2>&1"
