# Analysis: tables with paired-bootstrap intervals, the Parallel Scaling Law fit (refitted on
# every bootstrap replicate), then one job for the paper's figures (each drawn when the config
# has its runs; see common.smk: FIGURE_NAMES, FIGURE_OUTPUTS) and the results summary, the
# report's first page. What each file is (the model, run and benchmark of a score file, the
# figure a file gets) and what each run is (method, budget, X, seed: --run-facts) is passed as
# flags, never read from a path or a run's name.


rule tables:
    input:
        scores=all_scores,
        trainings=training_folders,
    output:
        accuracy=report(
            results("tables/accuracy.csv"),
            caption="../report/accuracy.rst",
            category="Tables",
        ),
        mti=report(results("tables/mti.csv"), caption="../report/mti.rst", category="Tables"),
        gains=report(results("tables/gains.csv"), caption="../report/gains.rst", category="Tables"),
        runs=report(results("tables/runs.csv"), caption="../report/runs.rst", category="Tables"),
        replicates=results("tables/bootstrap.parquet"),
    log:
        results("logs/tables.log"),
    conda:
        "../../envs/analysis.yaml"
    params:
        labels=score_labels,
        run_facts=run_facts,
        training_labels=training_labels,
        options=table_options,
        code=CODE["tables"],
    shell:
        "pscale tables --scores {input.scores} --labels {params.labels:q} --run-facts {params.run_facts:q}"
        " --accuracy-out {output.accuracy} --mti-out {output.mti}"
        " --gains-out {output.gains} --runs-out {output.runs} --replicates-out {output.replicates}"
        " --trainings {input.trainings} --training-labels {params.training_labels}"
        " --options {params.options:q} > {log} 2>&1"


rule fit_scaling_law:
    input:
        runs=results("tables/runs.csv"),
        replicates=results("tables/bootstrap.parquet"),
    output:
        report(
            results("fits/scaling_law.json"),
            caption="../report/scaling_law_fit.rst",
            category="Scaling law",
        ),
    log:
        results("logs/fit_scaling_law.log"),
    conda:
        "../../envs/analysis.yaml"
    params:
        options=fit_options,
        models=" ".join(MODELS),  # the main model first: reported at the top level of the fits
        code=CODE["fit"],
    shell:
        "pscale fit --runs {input.runs} --replicates {input.replicates} --models {params.models}"
        " --output {output} --options {params.options:q} > {log} 2>&1"


rule figures:
    input:
        accuracy=results("tables/accuracy.csv"),
        gains=results("tables/gains.csv"),
        runs=results("tables/runs.csv"),
        mti=results("tables/mti.csv"),
        fits=results("fits/scaling_law.json"),
        models=trained_models,
    output:
        figures=FIGURE_OUTPUTS,
        summary=report(SUMMARY, caption="../report/summary.rst", category="Summary"),
        headline=results("report/headline.rst"),
        tables=report(
            results("tables/tables.html"),
            caption="../report/tables_html.rst",
            category="Tables",
        ),
    log:
        results("logs/figures.log"),
    conda:
        "../../envs/analysis.yaml"
    params:
        names=" ".join(FIGURE_NAMES),
        history_labels=trained_model_labels,
        languages=",".join(LANGUAGES),
        parallel_order=",".join(config["parallel_order"]),
        headline_figure=HEADLINE_FIGURE,
        code=CODE["figures"],
    shell:
        "pscale figures --accuracy {input.accuracy} --gains {input.gains} --runs {input.runs} --fits {input.fits}"
        " --histories {input.models} --history-labels {params.history_labels} --languages {params.languages}"
        " --parallel-order {params.parallel_order}"
        " --names {params.names} --output {output.figures} --summary {output.summary}"
        " --mti {input.mti} --tables-html {output.tables}"
        " --headline {params.headline_figure} {output.headline} > {log} 2>&1"
