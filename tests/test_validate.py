"""The translation validator on good and broken translation pairs (tests/data/translation_probes.yaml).

The parametrised table holds the probes the validator before issue 8 got wrong (`before:` in the
file): good translations it rejected and defects it let through. The whole set must stay at
no more than 2% false alarms with every defect caught.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from pscale.translate.validate import (
    ValidationSettings,
    check_translation,
    math_segments,
    numbers_in_words,
    numbers_of,
    reason_code,
)

PROBES: dict[str, list[dict[str, Any]]] = yaml.safe_load(
    (Path(__file__).parent / "data" / "translation_probes.yaml").read_text(encoding="utf-8")
)
SETTINGS = ValidationSettings.from_config()


def _codes(probe: dict[str, Any]) -> list[str | None]:
    if "code" not in probe:
        return [None]
    return probe["code"] if isinstance(probe["code"], list) else [probe["code"]]


FIXED = [probe for kind in ("good", "defects") for probe in PROBES[kind] if "before" in probe]


@pytest.mark.parametrize("probe", FIXED, ids=[p["id"] for p in FIXED])
def test_probes_the_old_validator_got_wrong(probe: dict[str, Any]) -> None:
    reason = check_translation(probe["source"], probe["output"], probe["lang"], SETTINGS)
    assert (reason_code(reason) if reason else None) in _codes(probe), reason


def test_false_alarms_and_catches_on_the_whole_probe_set() -> None:
    alarms = [
        p["id"] for p in PROBES["good"] if check_translation(p["source"], p["output"], p["lang"], SETTINGS) is not None
    ]
    missed = [
        p["id"] for p in PROBES["defects"] if check_translation(p["source"], p["output"], p["lang"], SETTINGS) is None
    ]
    assert len(PROBES["good"]) >= 30 and len(PROBES["defects"]) >= 20
    assert len(alarms) / len(PROBES["good"]) <= 0.02, alarms
    assert missed == []


def test_numbers_are_compared_after_normalisation() -> None:
    assert numbers_of("27 cm³ and 10²") == Counter({"27": 1, "3": 1, "10": 1, "2": 1})
    assert numbers_of("১২ and 500, 1 000 and 1.000") == Counter({"12": 1, "500": 1, "1000": 2})
    assert numbers_in_words("a 3-dimensional grid of 5 points") == Counter({"3": 1})


def test_money_dollars_are_not_math() -> None:
    assert math_segments("Pens cost $2 each and a notebook $5.") == []
    assert math_segments("Let $f(x) = x^2$ and \\[ y = 2 \\].") == ["f(x)=x^2", "y=2"]


def test_dropped_figure_is_caught_even_when_translated_labels_differ() -> None:
    source = 'Find AC.\n[asy]\ndraw((0,0)--(12,5));\nlabel("start",(0,0),S);\n[/asy]'
    translated_label = 'Halla AC.\n[asy]\ndraw((0,0)--(12,5));\nlabel("inicio",(0,0),S);\n[/asy]'
    assert check_translation(source, translated_label, "es", SETTINGS) is None
    assert reason_code(check_translation(source, "Halla AC. [asy][/asy]", "es", SETTINGS)) == "figure"
