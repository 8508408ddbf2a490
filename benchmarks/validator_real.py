"""False alarms and catches of the translation validator on real human translations.

Reads tests/data/real_corpus/ (built by benchmarks/build_real_corpus.py: MGSM, PolyMath,
XReasoning AIME/GPQA and MMATH pairs, and defects made by editing them) and prints, per split
(dev: tuned on; held: reported), the false-alarm rate on good pairs per language and the catch
rate per defect class per language, then the false alarms (`--show N` of them per language).
Run with PYTHONPATH pointing at another checkout's src/ to measure an older validator.
"""

from __future__ import annotations

import argparse
import json
import lzma
import platform
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from pscale.translate.validate import ValidationSettings, check_translation

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "real_corpus"
LANGS = ("es", "fr", "de", "ru", "zh", "ja", "th", "sw", "bn", "te")
KINDS = ("numbers", "boxed", "figure", "preface", "original", "truncated", "prompt")


def load(name: str) -> list[dict[str, Any]]:
    """Rows of tests/data/real_corpus/<name>.jsonl.xz."""
    return [
        json.loads(line) for line in lzma.decompress((CORPUS / f"{name}.jsonl.xz").read_bytes()).decode().splitlines()
    ]


def measure(
    split: str | None = None,
) -> tuple[dict[str, list[tuple[dict[str, Any], str]]], dict[str, Counter[str]], dict]:
    """(false alarms per language, catches per class: Counter of (lang) caught/total, pair counts)."""
    settings = ValidationSettings.from_config()
    alarms: dict[str, list[tuple[dict[str, Any], str]]] = defaultdict(list)
    counts: dict[str, Counter[str]] = {"good": Counter(), "defects": Counter(), "caught": Counter()}
    for pair in load("good"):
        if split and pair["split"] != split:
            continue
        counts["good"][pair["lang"]] += 1
        if (reason := check_translation(pair["en"], pair["tr"], pair["lang"], settings)) is not None:
            alarms[pair["lang"]].append((pair, reason))
    missed: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for defect in load("defects"):
        if split and defect["split"] != split:
            continue
        key = f"{defect['kind']}/{defect['lang']}"
        counts["defects"][key] += 1
        reason = check_translation(defect["en"], defect["tr"], defect["lang"], settings, defect["finish_reason"])
        if reason is not None:
            counts["caught"][key] += 1
        else:
            missed[defect["kind"]].append(defect)
    return alarms, counts, missed


def report(split: str | None, show: int) -> None:
    started = time.perf_counter()
    alarms, counts, missed = measure(split)
    seconds = time.perf_counter() - started
    n_good, n_defects = sum(counts["good"].values()), sum(counts["defects"].values())
    print(f"## split={split or 'all'}: {n_good} good pairs, {n_defects} defects ({seconds:.1f} s)")
    print("lang  good  false_alarms  rate   " + "  ".join(f"{k:>9}" for k in KINDS))
    for lang in LANGS:
        rates = []
        for kind in KINDS:
            total = counts["defects"][f"{kind}/{lang}"]
            rates.append(f"{counts['caught'][f'{kind}/{lang}']:>4}/{total:<4}" if total else f"{'-':>9}")
        n = counts["good"][lang]
        print(f"{lang:4} {n:5} {len(alarms[lang]):13} {len(alarms[lang]) / max(n, 1):6.3f}  " + "  ".join(rates))
    total_alarms = sum(len(v) for v in alarms.values())
    caught = sum(counts["caught"].values())
    print(
        f"all  {n_good:5} {total_alarms:13} {total_alarms / max(n_good, 1):6.3f}  "
        f"catch_rate={caught / max(n_defects, 1):.3f}"
    )
    reasons = Counter(reason.split(":", 1)[0] for found in alarms.values() for _pair, reason in found)
    print(f"false alarms by rule: {dict(reasons)}")
    for lang in LANGS:
        for pair, reason in alarms[lang][:show]:
            print(f"  false alarm {pair['id']}: {reason}")
    for found in missed.values():
        for defect in found[:show]:
            print(f"  missed {defect['id']}: {defect['tr'][:100]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split", choices=("dev", "held", "all"), default=None)
    parser.add_argument("--show", type=int, default=0, help="print this many false alarms / misses per language")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.processor() or platform.machine()}")
    for split in ("dev", "held") if args.split is None else (None if args.split == "all" else args.split,):
        report(split, args.show)


if __name__ == "__main__":
    main()
