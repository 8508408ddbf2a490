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
    numbers_in_words,
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
    source = "A cube of 27 cm³ has 1000 small cubes and 12 faces painted."
    for kept in ("Un cubo de 27 cm³ tiene 1 000 cubos pequeños y ১২ caras pintadas.",
                 "Un cubo de 27 cm3 tiene 1.000 cubos pequeños y 12 caras pintadas."):  # fmt: skip
        assert check_translation(source, kept, "es", SETTINGS) is None, kept
    lost = check_translation(source, "Un cubo de 27 cm³ tiene 100 cubos pequeños y 12 caras pintadas.", "es", SETTINGS)
    assert lost is not None and lost.startswith("numbers: 1000 missing")
    assert numbers_in_words("a 3-dimensional grid of 5 points") == Counter({"3": 1})


def test_money_dollars_are_not_math() -> None:
    money = "Pens cost $2 each and a notebook $5. How much do 3 pens and 2 notebooks cost?"
    spanish = "Los bolígrafos cuestan $2 cada uno y un cuaderno $5. ¿Cuánto cuestan 3 bolígrafos y 2 cuadernos?"
    assert check_translation(money, spanish, "es", SETTINGS) is None
    math = "Let $a + b = 2$ and $a - b = 5$. Find the product of a and b."
    changed = check_translation(math, "Sea $a + c = 2$ y $a - c = 5$. Halla el producto de a y c.", "es", SETTINGS)
    assert changed is not None and reason_code(changed) == "latex"


def test_dropped_figure_is_caught_even_when_translated_labels_differ() -> None:
    source = 'Find AC.\n[asy]\ndraw((0,0)--(12,5));\nlabel("start",(0,0),S);\n[/asy]'
    translated_label = 'Halla AC.\n[asy]\ndraw((0,0)--(12,5));\nlabel("inicio",(0,0),S);\n[/asy]'
    assert check_translation(source, translated_label, "es", SETTINGS) is None
    assert reason_code(check_translation(source, "Halla AC. [asy][/asy]", "es", SETTINGS)) == "figure"
