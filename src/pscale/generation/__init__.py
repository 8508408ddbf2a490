"""Generation engines: `base` (the sampling settings and the interface every engine implements),
`hf` (transformers, CPU or one GPU: the demo's path) and `vllm` (the GPU path). The evaluation
stage that drives them is pscale.generate.
"""
