"""Per-language prompts: the one place where a question becomes chat messages.

Training and evaluation both build prompts here, so a model is evaluated on exactly the
prompt format it was trained on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pscale.errors import MissingEntryError, UserError

Messages = list[dict[str, str]]
Prompt = Messages | str
LETTERS = "ABCDEFGHIJ"


class PromptSet:
    """Prompt templates loaded from a YAML file (see resources/prompts.yaml)."""

    def __init__(self, spec: dict[str, Any], source: str = "<dict>") -> None:
        for key in ("template", "instruction"):
            if key not in spec:
                raise UserError(f"prompt file {source}: missing key '{key}'")
        self.template: str = spec["template"]
        self.instruction: dict[str, str] = spec["instruction"]
        self.force_language: dict[str, str] = spec.get("force_language", {})
        self.format_system: dict[str, str] = spec.get("format_system", {})
        # Multiple choice: the line that asks for the option letter in the box (no math box).
        self.choice_instruction: dict[str, str] = spec.get("choice_instruction", {})
        self.source = source

    @classmethod
    def from_file(cls, path: str | Path) -> PromptSet:
        if not Path(path).is_file():
            raise UserError(f"prompt file not found: {path}")
        with open(path, encoding="utf-8") as handle:
            return cls(yaml.safe_load(handle), source=str(path))

    def text(self, question: str, lang: str, force_language: bool = False, choices: list[str] | None = None) -> str:
        if lang not in self.instruction:
            raise MissingEntryError(f"prompt file {self.source}: no instruction for language '{lang}'")
        instruction = self.instruction[lang]
        if choices:
            if lang not in self.choice_instruction:
                raise MissingEntryError(
                    f"prompt file {self.source}: no choice_instruction for language '{lang}' "
                    "(multiple-choice items ask for the option letter in the box)"
                )
            question = question + "\n\n" + "\n".join(f"{LETTERS[i]}) {c}" for i, c in enumerate(choices))
            instruction = self.choice_instruction[lang]
        text = self.template.format(question=question, instruction=instruction)
        if force_language:
            if lang not in self.force_language:
                raise MissingEntryError(f"prompt file {self.source}: no force_language line for '{lang}'")
            text = f"{text}\n{self.force_language[lang]}"
        return text

    def messages(
        self,
        question: str,
        lang: str,
        force_language: bool = False,
        choices: list[str] | None = None,
        system_prompt: str | None = None,
    ) -> Messages:
        system = [{"role": "system", "content": system_prompt}] if system_prompt else []
        return [*system, {"role": "user", "content": self.text(question, lang, force_language, choices)}]

    def format_request(self, lang: str) -> str:
        """The request for the paper's answer format in `lang` (prompt file `format_system`)."""
        if lang not in self.format_system:
            raise MissingEntryError(f"prompt file {self.source}: no format_system line for '{lang}'")
        return self.format_system[lang]

    def system_prompt(self, lang: str, style: PromptStyle) -> str | None:
        """The model's own system prompt, else the format request when the style asks for it."""
        if style.system_prompt:
            return style.system_prompt
        return self.format_request(lang) if style.format_prompt else None

    def prompt(self, question: str, lang: str, style: PromptStyle, choices: list[str] | None = None) -> Prompt:
        """Chat messages, or plain text for models without a chat template (base models; the
        format request, if any, is then the text's first line)."""
        if style.chat:
            return self.messages(question, lang, style.force_language, choices, self.system_prompt(lang, style))
        text = self.text(question, lang, style.force_language, choices) + style.plain_suffix
        return f"{self.format_request(lang)}\n\n{text}" if style.format_prompt and not style.system_prompt else text


@dataclass(frozen=True)
class PromptStyle:
    """How a model is prompted: config `models.<name>` (chat_template, system_prompt),
    `evaluation.force_language` and `format_prompt` (ask for <think>...</think> then \\boxed{})."""

    chat: bool = True
    system_prompt: str | None = None
    force_language: bool = False
    format_prompt: bool = False
    plain_suffix: str = "\n"


def grpo_rows(rows: Iterable[Mapping[str, Any]], prompts: PromptSet, style: PromptStyle) -> list[dict[str, Any]]:
    """TRL prompt rows for GRPO: each question's prompt, with the answer and language the rewards read."""
    return [
        {"prompt": prompts.prompt(r["question"], r["lang"], style), "answer": r["answer"], "lang": r["lang"]}
        for r in rows
    ]


def sft_rows(rows: Iterable[Mapping[str, Any]], prompts: PromptSet, style: PromptStyle) -> list[dict[str, Any]]:
    """TRL prompt-completion rows: each question's prompt and its worked solution."""
    out = []
    for r in rows:
        prompt = prompts.prompt(r["question"], r["lang"], style)
        completion = r["solution"] if isinstance(prompt, str) else [{"role": "assistant", "content": r["solution"]}]
        out.append({"prompt": prompt, "completion": completion})
    return out
