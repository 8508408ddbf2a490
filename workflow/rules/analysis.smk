# Analysis: tables with paired-bootstrap intervals, the Parallel Scaling Law fit (refitted on
# every bootstrap replicate), the paper's figures (each drawn when the config has its runs;
# see common.smk: FIGURE_NAMES) and the results summary, the report's first page.


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
    log:
        "results/logs/fit_scaling_law.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "pscale fit --runs {input.runs} --replicates {input.replicates} --output {output}"
        " --options {params.options:q} > {log} 2>&1"


rule summary:
    input:
        runs="results/tables/runs.csv",
        gains="results/tables/gains.csv",
        fits="results/fits/scaling_law.json",
    output:
        report(SUMMARY, caption="../report/summary.rst", category="Summary"),
    log:
        "results/logs/summary.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "pscale summary --runs {input.runs} --gains {input.gains} --fits {input.fits}"
        " --output {output} > {log} 2>&1"


rule figure_scaling_law:
    input:
        fits="results/fits/scaling_law.json",
    output:
        report(
            "results/figures/scaling_law.png",
            caption="../report/scaling_law.rst",
            category="Scaling law",
        ),
    log:
        "results/logs/figures/scaling_law.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "pscale figures --figure scaling_law --fits {input.fits} --output {output} > {log} 2>&1"


rule figure_accuracy_heatmap:
    input:
        accuracy="results/tables/accuracy.csv",
    output:
        report(
            "results/figures/accuracy_heatmap.png",
            caption="../report/accuracy_heatmap.rst",
            category="Per language",
        ),
    params:
        languages=",".join(LANGUAGES),
    log:
        "results/logs/figures/accuracy_heatmap.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "pscale figures --figure accuracy_heatmap --accuracy {input.accuracy} --languages {params.languages}"
        " --output {output} > {log} 2>&1"


rule figure_off_target:
    input:
        accuracy="results/tables/accuracy.csv",
    output:
        report(
            "results/figures/off_target.png",
            caption="../report/off_target.rst",
            category="Per language",
        ),
    params:
        languages=",".join(LANGUAGES),
    log:
        "results/logs/figures/off_target.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "pscale figures --figure off_target --accuracy {input.accuracy} --languages {params.languages}"
        " --output {output} > {log} 2>&1"


rule figure_language_gain:
    input:
        gains="results/tables/gains.csv",
    output:
        report(
            "results/figures/language_gain.png",
            caption="../report/language_gain.rst",
            category="Per language",
        ),
    params:
        languages=",".join(LANGUAGES),
    log:
        "results/logs/figures/language_gain.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "pscale figures --figure language_gain --gains {input.gains} --languages {params.languages}"
        " --output {output} > {log} 2>&1"


rule figure_mti_by_model:
    input:
        runs="results/tables/runs.csv",
    output:
        report(
            "results/figures/mti_by_model.png",
            caption="../report/mti_by_model.rst",
            category="Comparisons",
        ),
    log:
        "results/logs/figures/mti_by_model.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "pscale figures --figure mti_by_model --runs {input.runs} --output {output} > {log} 2>&1"


rule figure_rl_vs_sft:
    input:
        runs="results/tables/runs.csv",
    output:
        report(
            "results/figures/rl_vs_sft.png",
            caption="../report/rl_vs_sft.rst",
            category="Comparisons",
        ),
    log:
        "results/logs/figures/rl_vs_sft.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "pscale figures --figure rl_vs_sft --runs {input.runs} --output {output} > {log} 2>&1"


rule figure_grow_vs_fixed:
    input:
        runs="results/tables/runs.csv",
    output:
        report(
            "results/figures/grow_vs_fixed.png",
            caption="../report/grow_vs_fixed.rst",
            category="Comparisons",
        ),
    log:
        "results/logs/figures/grow_vs_fixed.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "pscale figures --figure grow_vs_fixed --runs {input.runs} --output {output} > {log} 2>&1"


rule figure_training_rewards:
    input:
        models=trained_models,
    output:
        report(
            "results/figures/training_rewards.png",
            caption="../report/training_rewards.rst",
            category="Training",
        ),
    log:
        "results/logs/figures/training_rewards.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "pscale figures --figure training_rewards --histories {input.models} --output {output} > {log} 2>&1"
