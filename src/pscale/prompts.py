"""Per-language prompts: the one place where a question becomes chat messages.

Training and evaluation both build prompts here, so a model is evaluated on exactly the
prompt format it was trained on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

Messages = list[dict[str, str]]


class PromptSet:
    """Prompt templates loaded from a YAML file (see resources/prompts.yaml)."""

    def __init__(self, spec: dict[str, Any], source: str = "<dict>") -> None:
        for key in ("template", "instruction"):
            if key not in spec:
                raise ValueError(f"prompt file {source}: missing key '{key}'")
        self.version = spec.get("version", 1)
        self.template: str = spec["template"]
        self.instruction: dict[str, str] = spec["instruction"]
        self.force_language: dict[str, str] = spec.get("force_language", {})
        self.source = source

    @classmethod
    def from_file(cls, path: str | Path) -> PromptSet:
        with open(path, encoding="utf-8") as handle:
            return cls(yaml.safe_load(handle), source=str(path))

    def text(self, question: str, lang: str, force_language: bool = False) -> str:
        if lang not in self.instruction:
            raise KeyError(f"prompt file {self.source}: no instruction for language '{lang}'")
        text = self.template.format(question=question, instruction=self.instruction[lang])
        if force_language:
            if lang not in self.force_language:
                raise KeyError(f"prompt file {self.source}: no force_language line for '{lang}'")
            text = f"{text}\n{self.force_language[lang]}"
        return text

    def messages(self, question: str, lang: str, force_language: bool = False) -> Messages:
        return [{"role": "user", "content": self.text(question, lang, force_language)}]
