"""The demo's initial model: a tiny Qwen2 built from a config, with an offline-trained tokenizer.

The paper starts from English-centric instruct models. To study the same transfer on a CPU,
the demo builds a tiny (0.65M-parameter) Qwen2-architecture model whose byte-level BPE tokenizer
covers all study scripts, optionally lets it read multilingual text first (a language-
modelling pass over the training questions of every language: `pretrain_steps`), then warm-
starts it with English SFT (TRL SFTTrainer) on an imperfect teacher's worked solutions
(`sft_slip_share`), a share of them asked in another language (`sft_foreign_share`). Other
languages start lower, as with a real English-centric model, but not from nothing, so
relative gains (MTI) are defined; the teacher's slips leave headroom a verifiable reward can
win back.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from pscale.config import validate_options
from pscale.errors import UserError
from pscale.prompts import PromptSet, PromptStyle, sft_rows
from pscale.runtime import set_threads, training_precision
from pscale.tables import read_table

log = logging.getLogger(__name__)

#: ChatML, as the Qwen2.5 instruct models use; the tiny tokenizer gets the same template.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


#: Qwen2's pre-tokenizer split (transformers' Qwen2Tokenizer): letters in runs, digits one by
#: one. The tiny tokenizer is trained with exactly this pipeline because `AutoTokenizer` on a
#: qwen2 model folder rebuilds Qwen2Tokenizer's own pipeline around the saved vocab and merges;
#: a tokenizer trained any other way would give the model ids it never saw in training.
QWEN2_SPLIT = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"""
    r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    """A byte-level BPE tokenizer trained on `texts` with Qwen2's normaliser and pre-tokenizer, and ChatML.

    Loading it back with `AutoTokenizer` (as generation and TRL do) yields the same ids as
    the tokenizer returned here; tests/test_model_pipeline.py checks that on all 11 scripts.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        padding_side="left",
    )
    wrapped.chat_template = CHATML_TEMPLATE
    return wrapped


def build_model(tokenizer: Any, arch: dict[str, Any]):
    """A randomly initialised Qwen2ForCausalLM sized by `arch` (config `models.*.scratch`)."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=arch["hidden_size"],
        intermediate_size=arch["intermediate_size"],
        num_hidden_layers=arch["num_hidden_layers"],
        num_attention_heads=arch["num_attention_heads"],
        num_key_value_heads=arch["num_key_value_heads"],
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def _run_sft(
    model: Any, tokenizer: Any, rows: list[dict[str, Any]], steps: int, arch: dict[str, Any], work_dir: Path
) -> list[dict[str, Any]]:
    """One TRL SFTTrainer pass (plain text or prompt-completion rows); returns its log history."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(
        output_dir=str(work_dir),
        max_steps=steps,
        learning_rate=arch["sft_learning_rate"],
        per_device_train_batch_size=arch["sft_batch_size"],
        lr_scheduler_type="cosine",
        warmup_steps=max(1, steps // 20),
        logging_steps=max(1, steps // 20),
        save_strategy="no",
        report_to="none",
        seed=arch["seed"],
        **training_precision(),
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer)
    trainer.train()
    return trainer.state.log_history


def pretrain_multilingual(
    model: Any, tokenizer: Any, texts: list[str], arch: dict[str, Any], work_dir: Path
) -> list[dict[str, Any]]:
    """Language modelling on multilingual text, so every script has trained embeddings."""
    return _run_sft(model, tokenizer, [{"text": t} for t in texts], arch["pretrain_steps"], arch, work_dir)


def sft_warm_start(
    model: Any,
    tokenizer: Any,
    sft_data: pl.DataFrame,
    prompts: PromptSet,
    arch: dict[str, Any],
    work_dir: Path,
    style: PromptStyle | None = None,
) -> list[dict[str, Any]]:
    """SFT on (prompt, English solution) pairs, loss on the solution only."""
    rows = sft_rows(sft_data.iter_rows(named=True), prompts, style or PromptStyle())
    return _run_sft(model, tokenizer, rows, arch["sft_steps"], arch, work_dir)


def with_foreign_questions(
    sft_data: pl.DataFrame,
    corpus: dict[str, pl.DataFrame],
    share: float,
    seed: int,
    native_share: Mapping[str, float] | None = None,
) -> tuple[pl.DataFrame, list[bool]]:
    """English SFT rows, a `share` of them asked in another language (the same problem, a random
    language of `corpus`), answered with the English solution or, with probability
    `native_share[lang]`, with that language's own worked solution; also which rows became native.

    Real English-centric LLMs read other languages a little and mostly reason in English, but
    answer some questions in the language asked, more often in languages they saw more of. A
    native share that falls from high- to low-resource languages gives the tiny model that
    mixture, so the off-target rate, the language reward and the training languages' effect on
    them can move (nothing fixes which way).
    """
    foreign = {lang: frame for lang, frame in corpus.items() if lang != "en"}
    native_share = {lang: p for lang, p in (native_share or {}).items() if p > 0}
    if share <= 0 or not foreign:
        return sft_data, [False] * sft_data.height
    import random

    rng = random.Random(seed)
    questions = {
        lang: dict(zip(frame["id"].to_list(), frame["question"].to_list(), strict=True))
        for lang, frame in foreign.items()
    }
    native = {
        lang: dict(zip(foreign[lang]["id"].to_list(), foreign[lang]["solution"].to_list(), strict=True))
        for lang in native_share
        if lang in foreign and "solution" in foreign[lang].columns
    }
    missing = sorted(set(native_share) - set(native))
    if missing:
        raise UserError(f"sft_native_share names {missing}: no worked solutions for them in the warm-start corpus")
    langs, texts, solutions, swapped = [], [], [], []
    for pid, lang, question, solution in sft_data.select("id", "lang", "question", "solution").iter_rows():
        choices = [other for other in sorted(questions) if pid in questions[other]]
        is_native = False
        if choices and rng.random() < share:
            lang = rng.choice(choices)
            question = questions[lang][pid]
            # Drawn only for languages with a native share: without one the stream (and the demo
            # corpus of earlier configs) is unchanged.
            if lang in native and native[lang].get(pid) and rng.random() < native_share[lang]:
                solution, is_native = native[lang][pid], True
        langs.append(lang)
        texts.append(question)
        solutions.append(solution)
        swapped.append(is_native)
    frame = sft_data.with_columns(
        pl.Series("lang", langs), pl.Series("question", texts), pl.Series("solution", solutions, dtype=pl.Utf8)
    )
    return frame, swapped


def with_teacher_slips(sft_data: pl.DataFrame, share: float, seed: int) -> pl.DataFrame:
    """English SFT rows, a `share` of them with the result slipped by 1 or 2 (in the worked
    equation and in the box), as an imperfect teacher would write them.

    Imitation learns the teacher's slips along with its method: the warm-started model
    samples a wrong result about as often as its teacher wrote one, while most of the
    probability stays on the right one. That is the headroom a verifiable reward can win
    back, in the way RL post-training improves a distilled model. Rows whose answer is not a
    whole number, or whose solution does not box it, are left as they are.
    """
    if share <= 0:
        return sft_data
    import random

    rng = random.Random(seed + 1)
    solutions = []
    for answer, solution in sft_data.select("answer", "solution").iter_rows():
        boxed = f"\\boxed{{{answer}}}"
        if rng.random() < share and answer.isdigit() and boxed in solution:
            right = int(answer)
            wrong = right + rng.choice([d for d in (-2, -1, 1, 2) if right + d >= 0])
            head, _, tail = solution.rpartition(boxed)
            equals = [*re.finditer(rf"=\s*{right}(?!\d)", head)]
            if equals:  # the worked equation's result, the last one before the box
                head = f"{head[: equals[-1].start()]}= {wrong}{head[equals[-1].end() :]}"
            solution = f"{head}\\boxed{{{wrong}}}{tail}"
        solutions.append(solution)
    return sft_data.with_columns(pl.Series("solution", solutions, dtype=pl.Utf8))


def init_model(
    corpus_files: list[Path],
    sft_file: Path,
    prompt_file: Path,
    output_dir: Path,
    arch: dict[str, Any],
    threads: int = 1,
    format_prompt: bool = False,
) -> None:
    """Stage entry point: tokenizer + tiny Qwen2 + English SFT, saved with save_pretrained.

    `format_prompt` (config `format_prompt`): the warm start sees the prompts training and
    evaluation will use, with the request for the answer format (its text also trains the tokenizer).

    `corpus_files` (every language of the training data) give the tokenizer its vocabulary
    and the language-modelling pass its questions; solutions are seen in English only
    (`sft_file`), a share `sft_foreign_share` of them after a question in another language.

    Long on purpose: a stage entry point read top to bottom (tokenizer, model, language-modelling
    pass, SFT, save), each step a few lines that use the previous one's objects.
    """
    import torch

    arch = validate_options(arch, "/$defs/model/properties/scratch")  # keys left out: the schema's defaults
    set_threads(threads)
    torch.manual_seed(arch["seed"])
    prompts = PromptSet.from_file(prompt_file)
    questions: list[str] = []
    solutions: list[str] = []
    corpus: dict[str, pl.DataFrame] = {}
    # Worked solutions of every language are read (needed for sft_native_share) but only enter
    # the tokenizer as before: the vocabulary does not depend on the native share.
    for path in corpus_files:
        frame = read_table(
            path,
            {"id": "string", "lang": "string", "question": "string"},
            non_empty=("id", "lang", "question"),
            what="warm-start corpus file",
        )
        if frame.height and "lang" in frame.columns:
            corpus[frame["lang"][0]] = frame
        questions.extend(frame["question"].to_list())
        if "solution" in frame.columns:
            solutions.extend(s for s in frame["solution"].to_list() if s)
    extra = [*prompts.instruction.values(), *prompts.force_language.values()]
    if format_prompt:
        extra += prompts.format_system.values()
    tokenizer = train_tokenizer([*questions, *solutions, *extra], arch["vocab_size"])
    model = build_model(tokenizer, arch)
    log.info("built Qwen2 with %.2fM parameters, vocab %d", model.num_parameters() / 1e6, len(tokenizer))

    slip_share = arch["sft_slip_share"]
    sft_columns = {"id": "string", "question": "string", "solution": "string"}
    sft_data = read_table(
        sft_file,
        sft_columns | ({"answer": "string"} if slip_share > 0 else {}),
        non_empty=("id", "question"),
        what="warm-start SFT file",
    )
    sft_data = sft_data.filter(pl.col("solution").is_not_null())
    if sft_data.is_empty():
        raise UserError(f"{sft_file}: no rows with a 'solution' to warm-start on")
    sft_data = with_teacher_slips(sft_data, slip_share, arch["seed"])
    sft_data, native_rows = with_foreign_questions(
        sft_data, corpus, arch["sft_foreign_share"], arch["seed"], arch["sft_native_share"]
    )
    if any(native_rows):  # the same imperfect teacher in every language
        slipped = with_teacher_slips(sft_data, slip_share, arch["seed"] + 1)["solution"]
        sft_data = sft_data.with_columns(
            pl.when(pl.Series(native_rows)).then(slipped).otherwise(pl.col("solution")).alias("solution")
        )
        log.info(
            "warm start: %d of %d SFT rows answered in the question's own language", sum(native_rows), len(native_rows)
        )
    # Built in a temporary sibling folder and renamed into place when complete: a killed job
    # (by hand or under Slurm) leaves nothing that looks like a finished model.
    staging = output_dir.with_name(f".{output_dir.name}.saving")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    history: list[dict[str, Any]] = []
    if arch["pretrain_steps"] > 0:
        history += pretrain_multilingual(model, tokenizer, questions, arch, staging / "sft_work")
    if arch["sft_steps"] > 0:
        style = PromptStyle(format_prompt=format_prompt)
        history += sft_warm_start(model, tokenizer, sft_data, prompts, arch, staging / "sft_work", style)
    shutil.rmtree(staging / "sft_work", ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / "log_history.json").write_text(json.dumps(history, indent=1))
    shutil.rmtree(output_dir, ignore_errors=True)
    staging.rename(output_dir)
