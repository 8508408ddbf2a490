# Translation: one job per dataset writes every language (a shared rate limit and cache).
#
# Rerun semantics. Params are rerun triggers, and a rerun here reruns every training and
# evaluation job downstream, so only settings that change the translations are params:
# `translation_options` (backend, model, base_url, prompt file, temperature, max_tokens,
# validation bounds, max_attempts, QC policy) and the prompt file's declared version.
# Operational settings (rpm, tpm, concurrency, timeout, retries, backoff, mode, poll
# interval, prices, cache path, key variable) reach the command through the environment
# variable PSCALE_TRANSLATION_RUNTIME instead (the rule is local, so the job inherits it):
# they are neither params nor part of the shell command, so changing them never reruns
# anything. The SQLite cache is deliberately not an
# output: it survives failed jobs, and a rerun pays only for what is missing.
#
# localrule: the openai backend needs the network, which cluster compute nodes often lack;
# the job itself is light (I/O-bound) and runs next to the Snakemake process.

import os

from pscale.translate.options import split_options
from pscale.translate.translator_prompt import prompt_version

os.environ.update(PSCALE_TRANSLATION_RUNTIME=as_json(split_options(config["translation"])[1]))
TRANSLATION_PROMPT_VERSION = (
    prompt_version(config["translation"]["openai"]["prompt_file"])
    if config["translation"]["backend"] == "openai"
    else ""
)


rule translate:
    input:
        source=results("data/source/{dataset}.parquet"),
        reference=reference_corpus,
    output:
        translated=expand(
            results("data/translated/{{dataset}}/{lang}.parquet"),
            lang=LANGUAGES,
        ),
        qc=results("translation/qc/{dataset}.parquet"),
        usage=results("translation/usage/{dataset}.json"),
    log:
        results("logs/translate/{dataset}.log"),
    localrule: True
    conda:
        "../../envs/translate.yaml"
    params:
        options=translation_options,
        prompt_version=TRANSLATION_PROMPT_VERSION,
        code=CODE["translate"],
        languages=",".join(LANGUAGES),
        reference=reference_corpus_arg,
    shell:
        "pscale translate --source {input.source} {params.reference} --dataset {wildcards.dataset}"
        " --languages {params.languages} --output {output.translated}"
        " --qc-out {output.qc} --usage-out {output.usage}"
        " --options {params.options:q} > {log} 2>&1"
