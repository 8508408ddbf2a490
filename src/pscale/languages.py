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
