"""The transformers generation engine: batched `model.generate`, CPU or a single GPU."""

from __future__ import annotations

from tqdm.auto import tqdm

from pscale.generation.base import SamplingOptions
from pscale.generation.stops import Stops, cut_at_stop, stops_for
from pscale.prompts import Prompt
from pscale.runtime import has_cuda


class TransformersBackend:
    """Batched `model.generate` with left padding; CPU or a single GPU."""

    def __init__(self, model_path: str, revision: str | None = None) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_path, revision=revision)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        dtype = torch.bfloat16 if has_cuda() else torch.float32
        self.model = AutoModelForCausalLM.from_pretrained(model_path, revision=revision, dtype=dtype)
        self.model.to("cuda" if has_cuda() else "cpu").eval()

    def stops(self, options: SamplingOptions) -> Stops:
        """End-of-turn token, EOS ids (tokenizer and generation_config.json) and the configured stop strings."""
        return stops_for(self.tokenizer, self.model.generation_config.eos_token_id, options.stop)

    def generate(self, prompts: list[Prompt], options: SamplingOptions) -> list[list[str]]:
        import torch

        torch.manual_seed(options.seed)
        template = self.tokenizer.apply_chat_template
        texts = [p if isinstance(p, str) else template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
        sampling = options.temperature > 0
        stops = self.stops(options)
        strings = {"stop_strings": list(stops.strings), "tokenizer": self.tokenizer} if stops.strings else {}
        outputs: list[list[str]] = []
        for start in tqdm(range(0, len(texts), options.batch_size), desc="generate", unit="batch"):
            batch = self.tokenizer(
                texts[start : start + options.batch_size],
                return_tensors="pt",
                padding=True,
                add_special_tokens=False,
            ).to(self.model.device)
            with torch.inference_mode():
                generated = self.model.generate(
                    **batch,
                    do_sample=sampling,
                    temperature=options.temperature if sampling else None,
                    top_p=options.top_p if sampling else None,
                    top_k=None,
                    max_new_tokens=options.max_new_tokens,
                    num_return_sequences=options.n_samples,
                    pad_token_id=self.tokenizer.pad_token_id,
                    eos_token_id=list(stops.token_ids),
                    **strings,
                )
            new_tokens = generated[:, batch["input_ids"].shape[1] :]
            decoded = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            decoded = [cut_at_stop(d, stops.strings) for d in decoded]
            for i in range(0, len(decoded), options.n_samples):
                outputs.append([d.strip() for d in decoded[i : i + options.n_samples]])
        return outputs
