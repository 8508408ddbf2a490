# Source data: English items per dataset (+ the demo's parallel reference corpus).

if config["data"]["source"] == "demo":

    # One job per dataset, so a change of n_test reruns the test sets and what reads them only
    # (common.smk: demo_sizes).
    rule demo_data:
        output:
            source=results("data/source/{dataset}.parquet"),
            reference=results("data/reference/{dataset}.parquet"),
        log:
            results("logs/demo_data/{dataset}.log"),
        conda:
            "../../envs/data.yaml"
        params:
            sizes=demo_sizes,
            seed=config["data"]["seed"],
            code=CODE["demo-data"],
        shell:
            "pscale demo-data --datasets {wildcards.dataset} --source {output.source} --reference {output.reference}"
            " {params.sizes} --seed {params.seed} > {log} 2>&1"

else:

    rule hub_source:
        output:
            source=results("data/source/{dataset}.parquet"),
            # rows skipped as unreadable, with the reason (pscale.data.hub.QC_COLUMNS)
            qc=results("data/qc/{dataset}.parquet"),
            # the hub commit the rows were loaded from (pin it as `revision` to reuse it later)
            revision=results("data/source/{dataset}.REVISION"),
        log:
            results("logs/hub_source/{dataset}.log"),
        # Hub downloads need the network, which compute nodes often lack.
        localrule: True
        conda:
            "../../envs/data.yaml"
        params:
            options=hub_options,
            seed=config["data"]["seed"],
            code=CODE["source"],
        shell:
            "pscale source --dataset {wildcards.dataset} --seed {params.seed} --output {output.source}"
            " --qc-out {output.qc} --revision-out {output.revision} --options {params.options:q} > {log} 2>&1"
