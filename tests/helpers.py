"""Helpers shared by the tests: Snakemake dry-run output, and the processes a launch started."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any


def job_counts(output: str) -> dict[str, int]:
    """Rule -> job count from a dry run's 'Job stats' table."""
    counts: dict[str, int] = {}
    if "Job stats" not in output:
        return counts
    table = output.split("Job stats:", 1)[1]
    for line in table.splitlines()[3:]:
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not match:
            break
        if match[1] != "total":
            counts[match[1]] = int(match[2])
    return counts


def process_tree(root: int) -> list[int]:
    """`root` and every process under it, from Linux /proc (torch's launcher starts its ranks in
    sessions of their own, so a signal to the launcher's process group does not reach them)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        ppid = int(text[text.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def rank_pids(root: int) -> dict[int, int]:
    """RANK -> pid of the worker processes under `root` (those with RANK in their environment)."""
    ranks: dict[int, int] = {}
    for pid in process_tree(root)[1:]:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        rank = next((e[5:] for e in environ if e.startswith(b"RANK=")), None)
        if rank is not None:
            ranks.setdefault(int(rank), pid)
    return ranks


#: A tiny scratch model (models.<name>.scratch) that builds and warm-starts in seconds.
TINY_ARCH: dict[str, Any] = {
    "vocab_size": 600,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "pretrain_steps": 2,
    "sft_steps": 2,
    "sft_learning_rate": 3e-3,
    "sft_batch_size": 8,
    "seed": 0,
}


def train_cli_args(
    init: Path, train_set: Path, prompt_file: Path, out: Path, work: Path, options: dict[str, Any], languages: str
) -> list[str]:
    """`pscale train` arguments for a GRPO run, as the train rule passes them."""
    return [
        "train", "--method", "grpo", "--model", str(init), "--train-set", str(train_set),
        "--prompts", str(prompt_file), "--output", str(out), "--work-dir", str(work),
        "--languages", languages, "--options", json.dumps(options),
    ]  # fmt: skip


#: What the ChatML test model was taught to say to any question: its answer, then (as a base
#: checkpoint does) an invented next turn after its end-of-turn token.
CHATML_ANSWER = "<think>ok</think>\\boxed{7}"
#: The question it was taught on, as resources/prompts.yaml renders "What is 3 + 4?" in English.
CHATML_QUESTION = "What is 3 + 4?\nPut the final answer in \\boxed{}."
CHATML_RUN_ON = "<|im_start|>user\nand now 9 + 9?<|im_end|>\n<|im_start|>assistant\n\\boxed{18}<|endoftext|>"


def chatml_base_model(folder: Path, steps: int = 150) -> Path:
    """A tiny ChatML Qwen2 whose EOS (tokenizer and generation_config.json) is `<|endoftext|>` while
    its chat template ends a turn with `<|im_end|>`, like the Qwen2.5 base checkpoints; trained in
    seconds to answer CHATML_ANSWER and run on with CHATML_RUN_ON. An engine that stops only at
    the EOS returns the invented turn too."""
    import torch

    from pscale.model_init import build_model, train_tokenizer

    texts = [CHATML_ANSWER, CHATML_RUN_ON, CHATML_QUESTION] * 20
    tokenizer = train_tokenizer(texts, 300)
    tokenizer.eos_token = "<|endoftext|>"
    torch.manual_seed(0)
    model = build_model(tokenizer, {**TINY_ARCH, "hidden_size": 64, "intermediate_size": 128})
    assert model.generation_config.eos_token_id == tokenizer.convert_tokens_to_ids("<|endoftext|>")
    prompt = [{"role": "user", "content": CHATML_QUESTION}]
    text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    ids = torch.tensor([tokenizer(text + CHATML_ANSWER + "<|im_end|>\n" + CHATML_RUN_ON)["input_ids"]])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = model(input_ids=ids, labels=ids).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def untrained_model(folder: Path, texts: list[str]) -> Path:
    """A tiny Qwen2 with the project's own ChatML tokenizer trained on `texts`, weights untouched:
    enough for code that needs a real tokenizer, chat template and model (builds in a second)."""
    from pscale.model_init import build_model, train_tokenizer

    tokenizer = train_tokenizer(texts, 400)
    build_model(tokenizer, TINY_ARCH).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
