"""The translating model's prompts: versioned files (resources/translation/prompts-v*.yaml).

The version string is part of every cache key, so the prompt file is the single place that
decides which cached translations are still valid. A per-language fingerprint of the
rendered text lets the cache notice an edit made without a version bump.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pscale.errors import UserError


class PromptError(UserError):
    """The prompt file is missing, malformed, or lacks a target language."""


@dataclass(frozen=True)
class TranslationPrompt:
    version: str
    system: str
    retry: str
    languages: dict[str, dict[str, str]]
    path: str

    def language_name(self, lang: str) -> str:
        if lang not in self.languages:
            raise PromptError(f"prompt file {self.path} has no entry for language '{lang}' (under `languages`)")
        return self.languages[lang]["name"]

    def system_message(self, lang: str) -> str:
        entry = self.languages.get(lang) or {}
        return self.system.format(language=self.language_name(lang), notes=entry.get("notes", "")).strip()

    def retry_message(self, lang: str, reason: str) -> str:
        return self.retry.format(language=self.language_name(lang), reason=reason).strip()

    def messages(self, lang: str, text: str, previous: list[tuple[str, str]] = ()) -> list[dict[str, str]]:
        """Chat messages for one text; `previous` holds (rejected output, reason) of earlier attempts.

        Only the latest rejection is replayed: the model sees its last output and what was
        wrong with it, which is what it needs to fix, and the prompt stays short.
        """
        messages = [{"role": "system", "content": self.system_message(lang)}, {"role": "user", "content": text}]
        if previous:
            output, reason = previous[-1]
            messages += [
                {"role": "assistant", "content": output},
                {"role": "user", "content": self.retry_message(lang, reason)},
            ]
        return messages

    def fingerprint(self, lang: str) -> str:
        """Hash of everything this version sends for `lang` (system and retry templates)."""
        probe = self.system_message(lang) + "\x00" + self.retry_message(lang, "{reason}")
        return hashlib.sha256(probe.encode()).hexdigest()[:16]


def load_prompt(path: str | Path) -> TranslationPrompt:
    """The prompt file; a relative path is read from the working directory (the workflow's root)."""
    path = Path(path)
    if not path.exists():
        raise PromptError(f"translation prompt file not found: {path} (config key translation.openai.prompt_file)")
    with open(path, encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle) or {}
    missing = {"version", "system", "retry", "languages"} - set(data)
    if missing:
        raise PromptError(f"translation prompt file {path}: missing keys {sorted(missing)}")
    languages = {str(k): dict(v) for k, v in data["languages"].items()}
    nameless = [lang for lang, entry in languages.items() if "name" not in entry]
    if nameless:
        raise PromptError(f"translation prompt file {path}: languages {nameless} lack a `name`")
    return TranslationPrompt(str(data["version"]), data["system"], data["retry"], languages, str(path))


def prompt_version(path: str | Path) -> str:
    """The version a prompt file declares (for Snakemake params: a new version reruns the stage)."""
    return load_prompt(path).version
