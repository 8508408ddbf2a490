# parallel-scaling: English RL post-training -> multilingual transfer (Yang et al., 2025).
# Data flows one way; each arrow is a rule in workflow/rules/, each stage a module of
# the `pscale` package, each contract a file (Parquet tables, save_pretrained folders).
#
#   source -> translated -> parallel sets -> trained models -> generations -> scores
#          -> tables (accuracy, MTI) -> scaling-law fits -> figures / report

import os

from snakemake.utils import min_version

min_version("9.0")

# Where envs/<env>.post-deploy.sh installs the project from (under --sdm conda), also
# when snakemake runs with --directory elsewhere.
os.environ.setdefault("PSCALE_ROOT", workflow.basedir)


# The embedded default, unless config files are given with --configfile: then they are
# the whole config (a paper-scale run must not inherit the demo's tiny model). Anything
# left out is filled in from the schema's defaults.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "workflow/rules/common.smk"


wildcard_constraints:
    model="|".join(MODELS),
    run=RUN_PATTERN,
    budget=BUDGET_PATTERN,
    x="[0-9]+",
    seed="[0-9]+",
    benchmark="|".join(EVAL_DATASETS),
    dataset="|".join(DATASETS),


include: "workflow/rules/data.smk"
include: "workflow/rules/translate.smk"
include: "workflow/rules/sets.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/analysis.smk"


report: "workflow/report/workflow.rst"


rule all:
    default_target: True
    input:
        results("tables/accuracy.csv"),
        results("tables/mti.csv"),
        results("fits/scaling_law.json"),
        FIGURES,
        SUMMARY,
        expand(results("translation/qc/{dataset}.parquet"), dataset=DATASETS),
        STUDY_FILES,
