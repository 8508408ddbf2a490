"""False alarms and catches of the translation validator on tests/data/translation_probes.yaml.

Prints one line per probe the validator gets wrong, then
`false_alarm_rate=<good translations rejected> catch_rate=<defects rejected>
right_reason_rate=<defects rejected for their own reason>`.
Run with PYTHONPATH pointing at another checkout's src/ to measure an older validator.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from pscale.translate.validate import ValidationSettings, check_translation

PROBES = Path(__file__).resolve().parents[1] / "tests" / "data" / "translation_probes.yaml"


def main() -> None:
    probes = yaml.safe_load(PROBES.read_text(encoding="utf-8"))
    settings = ValidationSettings.from_config()
    alarms = caught = right_reason = 0
    for probe in probes["good"]:
        reason = check_translation(probe["source"], probe["output"], probe["lang"], settings)
        if reason is not None:
            alarms += 1
            print(f"false alarm  {probe['id']}: {reason}")
    for probe in probes["defects"]:
        reason = check_translation(probe["source"], probe["output"], probe["lang"], settings)
        codes = probe["code"] if isinstance(probe["code"], list) else [probe["code"]]
        caught += reason is not None
        right_reason += reason is not None and reason.split(":", 1)[0] in codes
        if reason is None or reason.split(":", 1)[0] not in codes:
            print(f"{'missed' if reason is None else 'other reason'}  {probe['id']} (expected {codes}): {reason}")
    print(f"good={len(probes['good'])} defects={len(probes['defects'])}")
    n_good, n_defects = len(probes["good"]), len(probes["defects"])
    print(
        f"false_alarm_rate={alarms / n_good:.3f} catch_rate={caught / n_defects:.3f} "
        f"right_reason_rate={right_reason / n_defects:.3f}"
    )


if __name__ == "__main__":
    main()
