"""The grader and the language share against hand labels on real model responses.

    python benchmarks/grading_real.py            # the table (about 10 s on one core)
    python benchmarks/grading_real.py --list     # also every disagreement

Sample: tests/data/real_responses/ (README there: 268 published responses of s1.1-14B to MGSM
and s1.1-32B to Global-MMLU in the study languages, and my labels, made by reading each one).
Grading: :func:`pscale.grading.grade` as ``pscale score`` calls it (math: boxed answers
required, the query language's number conventions; multiple choice: the option texts, and
``require_boxed: false`` because that prompt asked for "Answer:", not a box). Language: a
response is off-target when its share of the query language (:func:`pscale.languages.lang_share`)
is below ``on_target_share`` 0.5, as analysis counts it; the label is off-target when the
response's main language is not the query language.
"""

from __future__ import annotations

import argparse
import json
import lzma
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pscale.grading import grade
from pscale.languages import detect_language, lang_share

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "real_responses"
ON_TARGET_SHARE = 0.5


@dataclass(frozen=True)
class Judged:
    """One response: the hand label next to what pscale makes of it."""

    id: str
    benchmark: str
    lang: str
    label: str  # correct | wrong | none
    graded: str  # correct | wrong | none (pscale: no extracted answer is none)
    extracted: str | None
    label_lang: str
    detected: str
    share: float
    mixed: bool

    @property
    def grade_agrees(self) -> bool:
        """Correct or not, the only thing accuracy counts."""
        return (self.label == "correct") == (self.graded == "correct")

    @property
    def off_target_label(self) -> bool:
        return self.label_lang != self.lang

    @property
    def off_target_pscale(self) -> bool:
        return self.share < ON_TARGET_SHARE


def load() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(sample row, label) pairs, in the sample's order."""
    rows = [json.loads(line) for line in lzma.decompress((DATA / "sample.jsonl.xz").read_bytes()).decode().splitlines()]
    labels = {label["id"]: label for label in map(json.loads, (DATA / "labels.jsonl").read_text().splitlines())}
    return [(row, labels[row["id"]]) for row in rows]


def judge(row: dict[str, Any], label: dict[str, Any]) -> Judged:
    choices = row["choices"]
    extracted, correct = grade(
        row["gold"],
        row["response"],
        require_boxed=choices is None,
        n_choices=len(choices) if choices else 0,
        lang=row["query_lang"],
        choices=choices,
    )
    graded = "correct" if correct else ("none" if extracted is None else "wrong")
    return Judged(
        id=row["id"],
        benchmark=row["benchmark"],
        lang=row["query_lang"],
        label=label["verdict"],
        graded=graded,
        extracted=extracted,
        label_lang=label["lang"],
        detected=detect_language(row["response"]),
        share=lang_share(row["response"], row["query_lang"]),
        mixed=label["mixed"],
    )


def judge_all() -> list[Judged]:
    return [judge(row, label) for row, label in load()]


def _rate(items: list[bool]) -> str:
    return f"{sum(items)}/{len(items)} ({100 * sum(items) / len(items):.0f}%)" if items else "-"


def table(judged: list[Judged]) -> str:
    """Agreement per benchmark and query language: grading, off-target, main language."""
    groups: dict[tuple[str, str], list[Judged]] = defaultdict(list)
    for item in judged:
        groups[(item.benchmark, item.lang)].append(item)
        groups[(item.benchmark, "all")].append(item)
        groups[("all", "all")].append(item)
    lines = [
        f"{'benchmark':<12} {'lang':<4} {'n':>4}  {'grade agrees':<14} "
        f"{'off-target agrees':<18} {'main lang agrees':<16}"
    ]
    for (bench, lang), items in sorted(
        groups.items(), key=lambda kv: (kv[0][0] == "all", kv[0][0], kv[0][1] == "all", kv[0][1])
    ):
        lines.append(
            f"{bench:<12} {lang:<4} {len(items):>4}  {_rate([i.grade_agrees for i in items]):<14} "
            f"{_rate([i.off_target_label == i.off_target_pscale for i in items]):<18} "
            f"{_rate([i.label_lang == i.detected for i in items]):<16}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", action="store_true", help="print every disagreement")
    args = parser.parse_args()
    judged = judge_all()
    print(table(judged))
    if args.list:
        for item in judged:
            if not item.grade_agrees or item.label != item.graded:
                print(f"grade  {item.id}: label {item.label}, pscale {item.graded} ({item.extracted!r})")
            if item.off_target_label != item.off_target_pscale or item.label_lang != item.detected:
                print(
                    f"lang   {item.id}: label {item.label_lang}{' (mixed)' if item.mixed else ''}, "
                    f"detected {item.detected}, share of {item.lang} {item.share:.2f}"
                )


if __name__ == "__main__":
    main()
