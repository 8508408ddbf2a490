"""The study languages and the offline language identifier used by rewards and scoring.

Language ID is restricted to the study languages: unrestricted identifiers confuse short
texts with dozens of unrelated languages. LaTeX, numbers and think tags carry no language
signal and are stripped before classification.
"""

from __future__ import annotations

import functools
import re

#: ISO 639-1 codes of the 11 study languages, in the paper's order.
STUDY_LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "de", "ru", "zh", "ja", "th", "sw", "bn", "te")

LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "ru": "Russian",
    "zh": "Chinese",
    "ja": "Japanese",
    "th": "Thai",
    "sw": "Swahili",
    "bn": "Bengali",
    "te": "Telugu",
}

#: Label for a text with too few letters to classify (e.g. only "\\boxed{7}").
UNDETERMINED = "und"

# What carries no language signal: think tags, \boxed{...}, $...$ math, LaTeX commands,
# digits and arithmetic. Removed before classification.
_NON_LANGUAGE = re.compile(
    r"</?think>|\\boxed\{[^{}]*\}|\$[^$]*\$|\\[a-zA-Z]+|[0-9]+(?:[.,][0-9]+)?|[+\-*/=^_{}()\[\]<>|\\]"
)


def strip_non_language(text: str) -> str:
    """Text with math, numbers and tags removed, whitespace collapsed."""
    return " ".join(_NON_LANGUAGE.sub(" ", text).split())


@functools.lru_cache(maxsize=8)
def _identifier(languages: tuple[str, ...]):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    return identifier


def detect_language(
    text: str, languages: tuple[str, ...] = STUDY_LANGUAGES, min_letters: int = 3
) -> str:
    """The language of `text` among `languages`, or UNDETERMINED.

    A mixed-language response is judged by its dominant language (py3langid scores the
    whole text). A response with fewer than `min_letters` letters once math is stripped
    (e.g. a bare ``\\boxed{7}``) has no language: it is UNDETERMINED, which never equals a
    query language, so it counts as off-target.
    """
    stripped = strip_non_language(text)
    if sum(ch.isalpha() for ch in stripped) < min_letters:
        return UNDETERMINED
    lang, _prob = _identifier(tuple(languages)).classify(stripped)
    return lang
