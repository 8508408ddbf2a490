#!/usr/bin/env bash
# GPU paths, measured: builds the demo data and tiny model, then GRPO on a GPU (bf16),
# transformers generation and, where vLLM is installed, vLLM generation and GRPO with
# vLLM colocated. Prints one `timing` line per stage. Usage: benchmarks/gpu_paths.sh OUT_DIR
set -euo pipefail
OUT=${1:-/tmp/gpu_paths}
mkdir -p "$OUT"
PSCALE="python3 -m pscale.cli"
W=results  # the standard layout, so the config's reference corpus path resolves
t() { local name=$1; shift; local s=$SECONDS; "$@" > "$OUT/$name.log" 2>&1; echo "timing $name $((SECONDS - s))s"; }

python3 -c 'import torch; print("device", torch.cuda.get_device_name(0), "torch", torch.__version__)'
python3 -c 'import vllm; print("vllm", vllm.__version__)' 2>/dev/null && HAVE_VLLM=1 || { echo "vllm: not installed"; HAVE_VLLM=0; }

t demo_data $PSCALE demo-data --source-dir "$W/data/source" --reference-dir "$W/data/reference" --n-train 1500 --n-test 24
for ds in demo_train demo_test; do
  t translate_$ds $PSCALE translate --source "$W/data/source/$ds.parquet" --dataset $ds --out-dir "$W/translated/$ds" \
    --qc-out "$W/translation/qc/$ds.parquet" --usage-out "$W/translation/usage/$ds.json"
done
t parallel_set $PSCALE parallel-set --translated "$W"/translated/demo_train/*.parquet --x 3 --train-size 96 --output "$W/set.parquet"
t init_model $PSCALE init-model --corpus "$W"/translated/demo_train/*.parquet --sft-file "$W/translated/demo_train/en.parquet" \
  --output "$W/init"
t train_grpo $PSCALE train --model "$W/init" --train-set "$W/set.parquet" --output "$W/grpo" --work-dir "$W/grpo_work"
python3 - "$W/grpo/log_history.json" <<'PY'
import json, sys
h = [x for x in json.load(open(sys.argv[1])) if "step_time" in x]
print("grpo mean step_time %.3fs over %d logged steps; last reward %.3f" % (
    sum(x["step_time"] for x in h) / len(h), len(h), h[-1]["reward"]))
PY
t generate_transformers $PSCALE generate --model "$W/grpo" --benchmark-dir "$W/translated/demo_test" --output "$W/gen_tf.parquet"
t score $PSCALE score --generations "$W/gen_tf.parquet" --output "$W/scores_tf.parquet"
if [ "$HAVE_VLLM" = 1 ]; then
  t generate_vllm $PSCALE generate --model "$W/grpo" --benchmark-dir "$W/translated/demo_test" --output "$W/gen_vllm.parquet" \
    --options '{"backend":"vllm","n_samples":2,"temperature":0.7,"top_p":0.95,"max_new_tokens":40,"seed":0}'
  t train_grpo_vllm $PSCALE train --model "$W/init" --train-set "$W/set.parquet" --output "$W/grpo_vllm" \
    --work-dir "$W/grpo_vllm_work" --options '{"grpo":{"max_steps":20,"use_vllm":true,"vllm_mode":"colocate"},"reward_weights":{"accuracy":0.8,"format":0.1,"language":0.1}}'
fi
python3 - "$W/scores_tf.parquet" <<'PY'
import sys, polars as pl
s = pl.read_parquet(sys.argv[1])
print(s.group_by("lang").agg(pl.col("correct").mean().alias("acc"), (pl.col("detected_lang") == pl.col("lang")).mean().alias("on_target")).sort("lang"))
PY
