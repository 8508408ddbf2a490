# Analysis: accuracy / off-target and MTI tables, the Parallel Scaling Law fit, figures.


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
    params:
        options=table_options,
    log:
        "results/logs/tables.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "pscale tables --scores {input} --accuracy-out {output.accuracy} --mti-out {output.mti}"
        " --options {params.options:q} > {log} 2>&1"


rule fit_scaling_law:
    input:
        accuracy="results/tables/accuracy.csv",
        mti="results/tables/mti.csv",
    output:
        report(
            "results/fits/scaling_law.json",
            caption="../report/scaling_law_fit.rst",
            category="Scaling law",
        ),
    params:
        options=fit_options,
    log:
        "results/logs/fit_scaling_law.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "pscale fit --accuracy {input.accuracy} --mti {input.mti} --output {output}"
        " --options {params.options:q} > {log} 2>&1"


rule figures:
    input:
        accuracy="results/tables/accuracy.csv",
        fits="results/fits/scaling_law.json",
        models=trained_models,
    output:
        scaling=report(
            "results/figures/scaling_law.png",
            caption="../report/scaling_law.rst",
            category="Scaling law",
        ),
        heatmap=report(
            "results/figures/accuracy_heatmap.png",
            caption="../report/accuracy_heatmap.rst",
            category="Accuracy",
        ),
        training=report(
            "results/figures/training_rewards.png",
            caption="../report/training_rewards.rst",
            category="Training",
        ),
    params:
        languages=",".join(LANGUAGES),
    log:
        "results/logs/figures.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "pscale figures --accuracy {input.accuracy} --fits {input.fits} --histories {input.models}"
        " --languages {params.languages} --out-dir results/figures > {log} 2>&1"
