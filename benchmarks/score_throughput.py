"""Scoring throughput: grading + segment-level language shares on synthetic responses.

Builds N responses (default 20,000) of 300-1,500 characters in all 11 study languages, 20% of
them multiple choice, written the way models write: a <think> block of sentences from the demo
corpus's native worked solutions, equations, sometimes a few English sentences mixed in, and a
final \\boxed{} in assorted forms (ASCII, native or full-width digits, wrong answers, two boxes,
option letters with parentheses, text or look-alikes). Every sentence is perturbed (a word or
character dropped at random) so that segment strings repeat less; templated sentences still
repeat, so --no-cache measures the worst case (no segment ever seen before) and
--repeat-segments the other extreme.

Prints `responses_per_s=<x> cores=<n>` for `pscale score`'s code path with one worker process
per core, and responses per CPU-second (the per-core rate when other work shares the machine).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pscale import languages  # noqa: E402
from pscale.data.demo import make_demo_corpus  # noqa: E402
from pscale.grading import grade  # noqa: E402
from pscale.languages import STUDY_LANGUAGES, segments  # noqa: E402
from pscale.score import ScoringSettings, score_rows  # noqa: E402

NATIVE_DIGITS = {
    "bn": "০১২৩৪৫৬৭৮৯",
    "te": "౦౧౨౩౪౫౬౭౮౯",
    "th": "๐๑๒๓๔๕๖๗๘๙",
    "zh": "０１２３４５６７８９",
    "ja": "０１２３４５６７８９",
}
CHOICE_FORMS = ("{l}", "({l})", "{l}) option text", "\\text{{{l}}}", "{l}.", "{lower}")
#: The option texts the prompt showed (scoring compares a box with them when it holds no letter).
CHOICES = ("3.5 mol", "C11H12", "D-glucose", "$C_{2v}$")


def _perturb(sentence: str, rng: random.Random) -> str:
    words = sentence.split(" ")
    if len(words) > 3:
        del words[rng.randrange(len(words))]
        return " ".join(words)
    if len(sentence) > 4:
        cut = rng.randrange(len(sentence))
        return sentence[:cut] + sentence[cut + 1 :]
    return sentence


def _answer(gold: str, lang: str, rng: random.Random) -> str:
    value = gold if rng.random() < 0.6 else str(int(gold) + rng.choice((-2, -1, 1, 3)))
    if lang in NATIVE_DIGITS and rng.random() < 0.3:
        value = "".join(NATIVE_DIGITS[lang][int(d)] if d.isdigit() else d for d in value)
    return value


def synthetic_rows(
    n: int, seed: int = 0, repeat_segments: bool = False
) -> list[tuple[str, str, int, str, tuple[str, ...] | None]]:
    """(gold, response, n_choices, lang, choices) rows."""
    corpus = make_demo_corpus(400, 10, seed)["demo_train"]
    sentences: dict[str, list[str]] = {}
    for lang, question, solution in corpus.select("lang", "question", "solution").iter_rows():
        text = f"{question} {solution}"
        sentences.setdefault(lang, []).extend(seg for seg, _tag, weight in segments(text) if weight >= 8)
    rng = random.Random(seed)
    rows = []
    for index in range(n):
        lang = STUDY_LANGUAGES[index % len(STUDY_LANGUAGES)]
        target = rng.randint(300, 1500)
        parts: list[str] = []
        while sum(len(part) + 2 for part in parts) < target:
            pool = sentences["en"] if lang != "en" and rng.random() < 0.15 else sentences[lang]
            sentence = rng.choice(pool)
            parts.append(sentence if repeat_segments else _perturb(sentence, rng))
            if rng.random() < 0.3:
                a, b = rng.randint(2, 99), rng.randint(2, 99)
                parts.append(f"${a} + {b} = {a + b}$")
        if rng.random() < 0.2:
            letter = rng.choice("ABCD")
            given = letter if rng.random() < 0.6 else rng.choice("ABCD")
            gold, n_choices = letter, 4
            tail = "\\boxed{" + rng.choice(CHOICE_FORMS).format(l=given, lower=given.lower()) + "}"
        else:
            gold, n_choices = str(rng.randint(2, 999)), 0
            tail = f"\\boxed{{{_answer(gold, lang, rng)}}}"
            if rng.random() < 0.1:
                tail = f"\\boxed{{{rng.randint(2, 999)}}} ... {tail}"
        tail = f"</think>\n{tail}"
        think = ". ".join(parts)[: target - len(tail) - len("<think>")]
        rows.append((gold, f"<think>{think}{tail}", n_choices, lang, CHOICES if n_choices else None))
    return rows


def _cpu_seconds() -> float:
    """CPU time of this process and its finished workers: the per-core rate on a shared machine."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat-segments", action="store_true", help="no perturbation: segments repeat")
    parser.add_argument(
        "--no-cache", action="store_true", help="identify every segment afresh (worst case: no sentence ever repeats)"
    )
    parser.add_argument(
        "--grading-only", action="store_true", help="time pscale.grading.grade alone (no language shares)"
    )
    args = parser.parse_args()
    if args.no_cache:
        languages.identify_segment = languages.identify_segment.__wrapped__
    rows = synthetic_rows(args.n, repeat_segments=args.repeat_segments)
    lengths = sorted(len(row[1]) for row in rows)
    print(
        f"responses={len(rows)} chars min/median/max={lengths[0]}/{lengths[len(lengths) // 2]}/{lengths[-1]} "
        f"multiple_choice={sum(row[2] > 0 for row in rows) / len(rows):.0%} languages={len(STUDY_LANGUAGES)}"
    )
    if args.grading_only:
        cpu_start = _cpu_seconds()
        correct = sum(grade(gold, response, True, n, lang, choices)[1] for gold, response, n, lang, choices in rows)
        cpu = _cpu_seconds() - cpu_start
        print(
            f"accuracy={correct / len(rows):.3f} grading_cpu_seconds={cpu:.2f} graded_per_cpu_s={len(rows) / cpu:.0f}"
        )
        return
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    scored = score_rows(rows, ScoringSettings.from_config(), workers=args.workers)
    elapsed, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
    accuracy = sum(correct for _e, correct, _d, _s in scored) / len(scored)
    on_target = sum(share >= 0.5 for _e, _c, _d, share in scored) / len(scored)
    rate = len(rows) / elapsed
    print(
        f"accuracy={accuracy:.3f} on_target={on_target:.3f} seconds={elapsed:.1f} cpu_seconds={cpu:.1f} "
        f"responses_per_s_per_core={rate / args.workers:.0f} responses_per_cpu_s={len(rows) / cpu:.0f}"
    )
    print(f"responses_per_s={rate:.0f} cores={args.workers}")


if __name__ == "__main__":
    main()
