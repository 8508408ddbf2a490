"""Field names of the option blocks the config hands to other libraries, checked without importing them.

`training.grpo`/`training.sft` become `trl.GRPOConfig`/`trl.SFTConfig` and `evaluation.vllm`
becomes `vllm.LLM(...)` keyword arguments. A typo there used to pass validation and fail only
inside the job, after Snakemake had deleted the run's finished model. Importing trl takes
seconds (and vllm exists only on GPU nodes), so the config check reads these lists instead;
`tests/test_faults.py` keeps the TRL lists equal to the installed dataclasses (and the vLLM
list, where vllm is installed). Refresh after upgrading: `python -m pscale.option_fields`.
"""

from __future__ import annotations

TRL_VERSION = "1.16.0"
VLLM_VERSION = "0.31.0"

#: trl.GRPOConfig init fields.
GRPO_FIELDS: frozenset[str] = frozenset({
    "accelerator_config", "adam_beta1", "adam_beta2", "adam_epsilon", "auto_find_batch_size",
    "average_tokens_across_devices", "batch_eval_metrics", "beta", "bf16", "bf16_full_eval", "cache_implementation",
    "cast_lm_head_to_fp32", "chat_template_kwargs", "data_seed", "dataloader_drop_last", "dataloader_in_order",
    "dataloader_multiprocessing_context", "dataloader_num_workers", "dataloader_persistent_workers",
    "dataloader_pin_memory", "dataloader_prefetch_factor", "ddp_backend", "ddp_broadcast_buffers",
    "ddp_bucket_cap_mb", "ddp_find_unused_parameters", "ddp_static_graph", "ddp_timeout", "debug", "deepspeed",
    "delta", "disable_dropout", "disable_tqdm", "do_eval", "do_predict", "do_train", "ds3_gather_for_generation",
    "enable_jit_checkpoint", "entropy_coef", "entropy_coef_delta", "entropy_coef_max", "entropy_coef_min",
    "entropy_target", "epsilon", "epsilon_high", "eval_accumulation_steps", "eval_delay", "eval_do_concat_batches",
    "eval_on_start", "eval_steps", "eval_strategy", "eval_use_gather_object", "fp16", "fp16_full_eval", "fsdp",
    "fsdp_config", "full_determinism", "generation_batch_size", "generation_kwargs", "gradient_accumulation_steps",
    "gradient_checkpointing", "gradient_checkpointing_kwargs", "greater_is_better", "hub_always_push",
    "hub_model_id", "hub_private_repo", "hub_revision", "hub_strategy", "hub_token", "ignore_data_skip",
    "importance_sampling_level", "include_for_metrics", "include_num_input_tokens_seen", "label_names",
    "label_smoothing_factor", "learning_rate", "length_column_name", "liger_kernel_config",
    "load_best_model_at_end", "local_rank", "log_completions", "log_completions_hub_repo", "log_level",
    "log_level_replica", "log_multimodal", "log_on_each_node", "log_unique_prompts", "logging_first_step",
    "logging_nan_inf_filter", "logging_steps", "logging_strategy", "loss_type", "lr_scheduler_kwargs",
    "lr_scheduler_type", "mask_truncated_completions", "max_completion_length", "max_grad_norm", "max_steps",
    "max_tool_calling_iterations", "metric_for_best_model", "min_p", "model_init_kwargs",
    "multi_objective_aggregation", "neftune_noise_alpha", "num_completions_to_print", "num_generations",
    "num_generations_eval", "num_iterations", "num_train_epochs", "off_policy_mask_threshold", "optim",
    "optim_args", "optim_target_modules", "output_dir", "pad_to_multiple_of", "parallelism_config",
    "per_device_eval_batch_size", "per_device_train_batch_size", "prediction_loss_only", "project", "push_to_hub",
    "ref_model_mixup_alpha", "ref_model_sync_steps", "remove_unused_columns", "repetition_penalty", "report_to",
    "restore_callback_states_from_checkpoint", "resume_from_checkpoint", "reward_weights", "router_aux_loss_coef",
    "run_name", "sapo_temperature_neg", "sapo_temperature_pos", "save_on_each_node", "save_only_model",
    "save_steps", "save_strategy", "save_total_limit", "scale_rewards", "seed", "shuffle_dataset",
    "skip_memory_metrics", "steps_per_generation", "sync_ref_model", "temperature", "tf32", "top_entropy_quantile",
    "top_k", "top_p", "torch_compile", "torch_compile_backend", "torch_compile_mode", "torch_empty_cache_steps",
    "trackio_bucket_id", "trackio_space_id", "trackio_static_space_id", "train_sampling_strategy",
    "transformers_continuous_batching_config", "trust_remote_code", "use_adaptive_entropy",
    "use_bias_correction_kl", "use_cache", "use_cpu", "use_liger_kernel", "use_transformers_continuous_batching",
    "use_transformers_paged", "use_vllm", "vespo_k_neg", "vespo_k_pos", "vespo_lambda_neg", "vespo_lambda_pos",
    "vllm_enable_sleep_mode", "vllm_gpu_memory_utilization", "vllm_group_port", "vllm_importance_sampling_cap",
    "vllm_importance_sampling_clip_max", "vllm_importance_sampling_clip_min", "vllm_importance_sampling_correction",
    "vllm_importance_sampling_mode", "vllm_max_model_length", "vllm_mode", "vllm_model_impl",
    "vllm_server_base_url", "vllm_server_host", "vllm_server_port", "vllm_server_timeout",
    "vllm_structured_outputs_regex", "vllm_tensor_parallel_size", "warmup_steps", "weight_decay",
})

#: trl.SFTConfig init fields.
SFT_FIELDS: frozenset[str] = frozenset({
    "accelerator_config", "activation_offloading", "adam_beta1", "adam_beta2", "adam_epsilon",
    "assistant_only_loss", "auto_find_batch_size", "average_tokens_across_devices", "batch_eval_metrics", "bf16",
    "bf16_full_eval", "chat_template_path", "completion_only_loss", "data_seed", "dataloader_drop_last",
    "dataloader_in_order", "dataloader_multiprocessing_context", "dataloader_num_workers",
    "dataloader_persistent_workers", "dataloader_pin_memory", "dataloader_prefetch_factor", "dataset_kwargs",
    "dataset_num_proc", "dataset_text_field", "ddp_backend", "ddp_broadcast_buffers", "ddp_bucket_cap_mb",
    "ddp_find_unused_parameters", "ddp_static_graph", "ddp_timeout", "debug", "deepspeed", "disable_tqdm",
    "do_eval", "do_predict", "do_train", "enable_jit_checkpoint", "eos_token", "eval_accumulation_steps",
    "eval_delay", "eval_do_concat_batches", "eval_on_start", "eval_packing", "eval_steps", "eval_strategy",
    "eval_use_gather_object", "fp16", "fp16_full_eval", "fsdp", "fsdp_config", "full_determinism",
    "gradient_accumulation_steps", "gradient_checkpointing", "gradient_checkpointing_kwargs", "greater_is_better",
    "hub_always_push", "hub_model_id", "hub_private_repo", "hub_revision", "hub_strategy", "hub_token",
    "ignore_data_skip", "include_for_metrics", "include_num_input_tokens_seen", "label_names",
    "label_smoothing_factor", "learning_rate", "length_column_name", "liger_kernel_config",
    "load_best_model_at_end", "local_rank", "log_level", "log_level_replica", "log_on_each_node",
    "logging_first_step", "logging_nan_inf_filter", "logging_steps", "logging_strategy", "loss_type",
    "lr_scheduler_kwargs", "lr_scheduler_type", "max_grad_norm", "max_length", "max_steps", "metric_for_best_model",
    "model_init_kwargs", "neftune_noise_alpha", "num_train_epochs", "optim", "optim_args", "optim_target_modules",
    "output_dir", "packing", "packing_strategy", "pad_to_multiple_of", "pad_token", "padding_free",
    "parallelism_config", "per_device_eval_batch_size", "per_device_train_batch_size", "prediction_loss_only",
    "project", "push_to_hub", "remove_unused_columns", "report_to", "restore_callback_states_from_checkpoint",
    "resume_from_checkpoint", "router_aux_loss_coef", "run_name", "save_on_each_node", "save_only_model",
    "save_steps", "save_strategy", "save_total_limit", "seed", "shuffle_dataset", "skip_memory_metrics", "tf32",
    "torch_compile", "torch_compile_backend", "torch_compile_mode", "torch_empty_cache_steps", "trackio_bucket_id",
    "trackio_space_id", "trackio_static_space_id", "train_sampling_strategy", "truncation_mode",
    "trust_remote_code", "use_cache", "use_cpu", "use_liger_kernel", "warmup_steps", "weight_decay",
})

#: vllm.EngineArgs fields plus vllm.LLM's own keyword arguments (vLLM 0.31.0).
VLLM_FIELDS: frozenset[str] = frozenset({
    "_api_process_count", "_api_process_rank", "additional_config", "aggregate_engine_logging", "all2all_backend",
    "allow_deprecated_quantization", "allowed_local_media_path", "allowed_media_domains", "async_scheduling",
    "attention_backend", "attention_config", "aux_output_config", "block_size", "chat_template", "code_revision",
    "collect_detailed_traces", "compilation_config", "config_format", "convert", "cp_kv_cache_interleave_size",
    "cpu_distributed_timeout_seconds", "cpu_offload_gb", "cpu_offload_params", "cudagraph_capture_sizes",
    "cudagraph_metrics", "data_parallel_address", "data_parallel_backend", "data_parallel_external_lb",
    "data_parallel_hybrid_lb", "data_parallel_multi_port_external_lb", "data_parallel_rank",
    "data_parallel_rpc_port", "data_parallel_size", "data_parallel_size_local", "data_parallel_start_rank",
    "dbo_decode_token_threshold", "dbo_prefill_token_threshold", "dcp_comm_backend", "dcp_kv_cache_interleave_size",
    "dcp_q_replicate", "decode_context_parallel_size", "default_mm_loras", "device_ids", "diffusion_config",
    "disable_cascade_attn", "disable_chunked_mm_input", "disable_custom_all_reduce",
    "disable_hybrid_kv_cache_manager", "disable_log_stats", "disable_nccl_for_dp_synchronization",
    "disable_sliding_window", "distributed_executor_backend", "distributed_timeout_seconds", "download_dir",
    "dp_sync_interval", "dtype", "ec_manager_config", "ec_transfer_config", "elastic_ep_max_dp_size",
    "enable_batch_sharded_sampling", "enable_chunked_prefill", "enable_cumem_allocator", "enable_dbo",
    "enable_elastic_ep", "enable_ep_weight_filter", "enable_eplb", "enable_expert_parallel",
    "enable_fault_tolerance", "enable_flashinfer_autotune", "enable_layerwise_nvtx_tracing",
    "enable_logging_iteration_details", "enable_lora", "enable_mamba_cache_stochastic_rounding",
    "enable_mamba_shared_prefix_checkpoint", "enable_mfu_metrics", "enable_mixed_moe_lora_format",
    "enable_mm_embeds", "enable_mm_processor_stats", "enable_moe_shared_loras", "enable_nccl_comm_suspend",
    "enable_prefix_caching", "enable_prompt_embeds", "enable_return_routed_experts", "enable_sleep_mode",
    "enable_tower_connector_lora", "enable_trace_replay", "enforce_eager", "engram_config", "eplb_config",
    "expert_placement_strategy", "fail_on_environ_validation", "fault_tolerance_config", "fully_sharded_loras",
    "gdn_prefill_backend", "generation_config", "gpu_memory_utilization", "hf_config_path", "hf_overrides",
    "hf_token", "ignore_patterns", "interleave_mm_strings", "io_processor_plugin", "ir_op_priority",
    "jit_monitor_mode", "jit_monitor_verbose", "kda_decode_backend", "kda_prefill_backend", "kernel_config",
    "kv_cache_dtype", "kv_cache_dtype_skip_layers", "kv_cache_memory_bytes", "kv_cache_metrics",
    "kv_cache_metrics_sample", "kv_events_config", "kv_offloading_backend", "kv_offloading_size",
    "kv_sharing_fast_prefill", "kv_transfer_config", "language_model_only", "limit_mm_per_prompt", "linear_backend",
    "load_format", "log_config_file", "log_level", "logging_config", "logits_processors", "logprobs_mode",
    "long_prefill_token_threshold", "long_prefill_token_threshold_adaptive", "lora_dtype", "lora_target_modules",
    "mamba_backend", "mamba_block_size", "mamba_cache_dtype", "mamba_cache_mode", "mamba_cache_philox_rounds",
    "mamba_config", "mamba_ssm_cache_dtype", "mamba_ssu_algorithm", "master_addr", "master_port", "max_cpu_loras",
    "max_cudagraph_capture_size", "max_logprobs", "max_lora_cls_labels", "max_lora_rank", "max_loras",
    "max_model_len", "max_num_active_seqs", "max_num_batched_tokens", "max_num_queued_reqs",
    "max_num_queued_tokens", "max_num_scheduled_tokens", "max_num_seqs", "max_parallel_loading_workers",
    "media_io_kwargs", "mm_device_do_normalize", "mm_encoder_attn_backend", "mm_encoder_attn_dtype",
    "mm_encoder_fp8_scale_path", "mm_encoder_fp8_scale_save_margin", "mm_encoder_fp8_scale_save_path",
    "mm_encoder_only", "mm_encoder_tp_mode", "mm_hasher_algorithm", "mm_ipc_gpu_memory_gb", "mm_processor_cache_gb",
    "mm_processor_cache_type", "mm_processor_device", "mm_processor_kwargs", "mm_shm_cache_max_object_size_mb",
    "mm_tensor_ipc", "model", "model_class_overrides", "model_impl", "model_loader_extra_config", "model_weights",
    "moe_backend", "nnodes", "node_rank", "num_gpu_blocks_override", "numa_bind", "numa_bind_cpus",
    "numa_bind_nodes", "offload_backend", "offload_group_size", "offload_num_in_group", "offload_params",
    "offload_prefetch_step", "optimization_level", "otlp_traces_endpoint", "override_generation_config",
    "per_request_spec_decode_metrics", "performance_mode", "pipeline_parallel_size", "pooler_config",
    "prefill_context_parallel_size", "prefill_schedule_interval", "prefix_cache_retention_interval",
    "prefix_caching_hash_algo", "prefix_match_unit", "profiler_config", "pt_load_map_location", "quantization",
    "quantization_config", "ray_workers_use_nsight", "reasoning_config", "reasoning_parser",
    "reasoning_parser_plugin", "renderer_num_workers", "replayssm_buffer_len", "return_sampling_mask", "revision",
    "runner", "safetensors_load_strategy", "safetensors_prefetch_block_size", "safetensors_prefetch_num_threads",
    "scheduler_cls", "scheduler_reserve_full_isl", "scheduling_policy", "seed", "served_model_name",
    "show_hidden_metrics_for_version", "shutdown_timeout", "skip_mm_profiling", "skip_tokenizer_init",
    "sleep_preserve_parameter_names", "sparse_indexer_topk_backend", "spec_method", "spec_model", "spec_tokens",
    "specialize_active_lora", "speculative_config", "stream_interval", "structured_outputs_config",
    "swa_bounded_replay", "tensor_parallel_size", "tokenizer", "tokenizer_mode", "tokenizer_revision",
    "tokens_only", "trust_remote_code", "ubatch_size", "use_fp64_gumbel", "use_replayssm", "use_tqdm_on_load",
    "video_pruning_method", "video_pruning_rate", "watermark", "watermark_config", "weight_transfer_config",
    "worker_cls", "worker_extension_cls",
})


def trl_fields() -> dict[str, list[str]]:
    """The init fields of the installed trl's GRPOConfig and SFTConfig (imports trl: seconds)."""
    import dataclasses

    from trl import GRPOConfig, SFTConfig

    return {
        name: sorted(f.name for f in dataclasses.fields(cls) if f.init)
        for name, cls in (("grpo", GRPOConfig), ("sft", SFTConfig))
    }


if __name__ == "__main__":  # print the installed trl's lists, to paste above after an upgrade
    import trl

    print(f"trl {trl.__version__}")
    for name, fields in trl_fields().items():
        print(name, fields)
