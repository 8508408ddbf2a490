"""Where a response ends: the chat template's end-of-turn token, the EOS, and configured stop strings.

A base checkpoint prompted with ChatML (Qwen2.5-7B, Qwen2.5-Math-7B) has `<|endoftext|>` as its
tokenizer's EOS and often in `generation_config.json`, while its chat template closes a turn with
`<|im_end|>`. An engine that stops only at the EOS lets such a model write past its turn
(`<|im_end|>` is a special token, so the decoded text silently continues with an invented next
turn), and the last-box grader and the language share then read that. Every engine (transformers,
vLLM, TRL's generation in GRPO) therefore stops at the union of the end-of-turn token, the
tokenizer's EOS and the generation config's EOS ids, plus the model's configured stop strings.

Light on purpose (no torch, no vllm): the vLLM settings are built here and tested on CPU.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: A message content no template changes, to find what a template writes after an assistant turn.
_SENTINEL = "pscale-end-of-turn-probe"


@dataclass(frozen=True)
class Stops:
    """Token ids and strings that end a response (strings are cut from the text, as vLLM does)."""

    token_ids: tuple[int, ...]
    strings: tuple[str, ...] = ()


def end_of_turn_token(tokenizer: Any) -> str | None:
    """The special token the chat template writes right after an assistant message
    (ChatML `<|im_end|>`, Llama 3 `<|eot_id|>`, DeepSeek-R1 `<｜end▁of▁sentence｜>`), or None
    (no chat template, or plain text after the turn)."""
    if not getattr(tokenizer, "chat_template", None):
        return None
    messages = [{"role": "user", "content": "1 + 1?"}, {"role": "assistant", "content": _SENTINEL}]
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False)
    except Exception:  # a template may refuse this history: then only the EOS stops
        return None
    if not isinstance(text, str) or _SENTINEL not in text:
        return None
    tail = text.rsplit(_SENTINEL, 1)[1].lstrip(" ")
    ids = tokenizer(tail, add_special_tokens=False)["input_ids"]
    if not ids:
        return None
    return tokenizer.convert_ids_to_tokens(ids[0]) if ids[0] in _special_ids(tokenizer) else None


def _special_ids(tokenizer: Any) -> set[int]:
    """Ids of special and added tokens (a turn marker is one of them, never a piece of text)."""
    added = getattr(tokenizer, "added_tokens_decoder", None) or {}
    return {*tokenizer.all_special_ids, *added}


def _ids(value: int | Sequence[int] | None) -> list[int]:
    if value is None:
        return []
    return [value] if isinstance(value, int) else [int(v) for v in value]


def _unique(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(v for v in values if v is not None))


def stops_for(tokenizer: Any, generation_eos: int | Sequence[int] | None = None, strings: Sequence[str] = ()) -> Stops:
    """The stops of a model: its end-of-turn token, its tokenizer's EOS, its generation config's
    EOS ids (`generation_eos`), and `strings` (config `evaluation.stop`). A stop string that is one
    special token becomes a token id: engines drop special tokens from the text they match against,
    so as a string it would never match."""
    turn = end_of_turn_token(tokenizer)
    ids = [tokenizer.convert_tokens_to_ids(turn)] if turn else []
    ids += [tokenizer.eos_token_id, *_ids(generation_eos)]
    texts = []
    special = _special_ids(tokenizer)
    for text in strings:
        token = tokenizer.convert_tokens_to_ids(text)
        if isinstance(token, int) and token in special and tokenizer.convert_ids_to_tokens(token) == text:
            ids.append(token)
        else:
            texts.append(text)
    return Stops(token_ids=_unique(ids), strings=_unique(texts))


def cut_at_stop(text: str, strings: Sequence[str]) -> str:
    """`text` up to the first stop string (excluded), as vLLM returns it."""
    cut = min((i for i in (text.find(s) for s in strings) if i >= 0), default=len(text))
    return text[:cut]


def generation_eos_ids(model_path: str, revision: str | None = None) -> list[int]:
    """The EOS ids of a model's generation_config.json (none when it has no such file)."""
    from transformers import GenerationConfig

    try:
        config = GenerationConfig.from_pretrained(model_path, revision=revision)
    except OSError:
        return []
    return _ids(config.eos_token_id)
