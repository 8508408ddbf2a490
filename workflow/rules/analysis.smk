# Analysis: tables with paired-bootstrap intervals, the Parallel Scaling Law fit (refitted on
# every bootstrap replicate), then one job for the paper's figures (each drawn when the config
# has its runs; see common.smk: FIGURE_OUTPUTS; `pscale figures` draws each output file by its
# name) and the results summary, the report's first page.


rule tables:
    input:
        all_scores,
    output:
        accuracy=report(
            "results/tables/accuracy.csv",
            caption="../report/accuracy.rst",
            category="Tables",
        ),
        mti=report("results/tables/mti.csv", caption="../report/mti.rst", category="Tables"),
        gains=report("results/tables/gains.csv", caption="../report/gains.rst", category="Tables"),
        runs=report("results/tables/runs.csv", caption="../report/runs.rst", category="Tables"),
        replicates="results/tables/bootstrap.parquet",
    params:
        options=table_options,
        code=CODE["tables"],
    log:
        "results/logs/tables.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "pscale tables --scores {input} --accuracy-out {output.accuracy} --mti-out {output.mti}"
        " --gains-out {output.gains} --runs-out {output.runs} --replicates-out {output.replicates}"
        " --options {params.options:q} > {log} 2>&1"


rule fit_scaling_law:
    input:
        runs="results/tables/runs.csv",
        replicates="results/tables/bootstrap.parquet",
    output:
        report(
            "results/fits/scaling_law.json",
            caption="../report/scaling_law_fit.rst",
            category="Scaling law",
        ),
    params:
        options=fit_options,
        code=CODE["fit"],
    log:
        "results/logs/fit_scaling_law.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "pscale fit --runs {input.runs} --replicates {input.replicates} --output {output}"
        " --options {params.options:q} > {log} 2>&1"


rule figures:
    input:
        accuracy="results/tables/accuracy.csv",
        gains="results/tables/gains.csv",
        runs="results/tables/runs.csv",
        fits="results/fits/scaling_law.json",
        models=trained_models,
    output:
        **FIGURE_OUTPUTS,
        summary=report(SUMMARY, caption="../report/summary.rst", category="Summary"),
    params:
        languages=",".join(LANGUAGES),
        code=CODE["figures"],
    log:
        "results/logs/figures.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "pscale figures --accuracy {input.accuracy} --gains {input.gains} --runs {input.runs} --fits {input.fits}"
        " --histories {input.models} --languages {params.languages} --output {output} > {log} 2>&1"
