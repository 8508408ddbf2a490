# Translation: one job per dataset writes every language (a shared rate limit and cache).


rule translate:
    input:
        source="results/data/source/{dataset}.parquet",
    output:
        expand(
            "results/data/translated/{{dataset}}/{lang}.parquet",
            lang=LANGUAGES,
        ),
    params:
        options=translation_options,
        languages=",".join(LANGUAGES),
    log:
        "results/logs/translate/{dataset}.log",
    conda:
        "../../envs/translate.yaml"
    shell:
        "pscale translate --source {input.source} --dataset {wildcards.dataset}"
        " --out-dir results/data/translated/{wildcards.dataset} --languages {params.languages}"
        " --options {params.options:q} > {log} 2>&1"
