"""The option-letter reader on real, translated GPQA-Diamond option texts, before and after.

Reads XReasoning's translated GPQA-Diamond (198 items in en + the ten study languages, options
written `(A) ...` in each problem, the options translated by the authors of "When Models Reason
in Your Language", arXiv 2505.22888): https://github.com/Betswish/mCoT-pass-K, folder
`XReasoning_data/translated_gpqa_diamond_mc/<lang>/data-00000-of-00001.arrow` (commit 89ff155;
GPQA itself is CC BY 4.0; the repository states no licence, so its files are read from a
checkout, not copied here). For every option of every item in every language it grades the
box forms a model writes when it names that option: `X) <option text>` (with and without the
option texts at grading time), `(X) <option text>` and the option text alone, and counts how
often the named option is read. `--old-src DIR` grades the same boxes with the `pscale` in DIR
(e.g. a checkout of the code before issue 16) for comparison.

    python benchmarks/choice_forms_real.py CHECKOUT/XReasoning_data/translated_gpqa_diamond_mc
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from collections import Counter
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
OPTION_LINE = re.compile(r"^\s*[(（]([A-D])[)）]\s*(.+?)\s*$")
LANGS = ("en", "es", "fr", "de", "ru", "zh", "ja", "th", "sw", "bn", "te")


def read_items(folder: Path, lang: str) -> list[tuple[str, tuple[str, ...]]]:
    """(gold letter, option texts A-D) of every item whose four options could be read."""
    table = pl.read_ipc_stream(folder / lang / "data-00000-of-00001.arrow")
    items = []
    for row in table.iter_rows(named=True):
        options: dict[str, str] = {}
        current = None
        for line in row["problem"].splitlines():
            if match := OPTION_LINE.match(line):
                current = match.group(1)
                options[current] = match.group(2)
            elif current and line.strip():  # an option written over several lines
                options[current] += "\n" + line.strip()
            else:
                current = None
        if sorted(options) == ["A", "B", "C", "D"]:
            gold = re.search(r"\\boxed\{([A-D])\}", row["solution"])
            items.append((gold.group(1) if gold else "A", tuple(options[x] for x in "ABCD")))
    return items


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--old-src", help="grade with the pscale package in this src folder instead")
    args = parser.parse_args()
    sys.path.insert(0, args.old_src or str(ROOT / "src"))
    from pscale.grading import grade

    takes_choices = "choices" in inspect.signature(grade).parameters
    forms = {
        "X) text": lambda x, text: f"{x}) {text}",
        "(X) text": lambda x, text: f"({x}) {text}",
        "text alone": lambda x, text: text,
    }
    totals: Counter[str] = Counter()
    right: Counter[str] = Counter()
    misread: Counter[str] = Counter()  # another option's letter read (worse than no answer)
    for lang in LANGS:
        items = read_items(args.folder, lang)
        lang_right: Counter[str] = Counter()
        for _gold, options in items:
            for index, text in enumerate(options):
                letter = "ABCD"[index]
                for form, write in forms.items():
                    for with_texts in (False, True) if takes_choices else (False,):
                        key = f"{form}{' +texts' if with_texts else ''}"
                        box = f"\\boxed{{{write(letter, text)}}}"
                        kwargs = {"choices": options} if with_texts else {}
                        read = grade(letter, box, n_choices=4, **kwargs)[0]
                        totals[key] += 1
                        right[key] += read == letter
                        misread[key] += read not in (None, letter)
                        lang_right[key] += read == letter
        print(
            f"{lang}: {len(items)} items, "
            + ", ".join(f"{k} {lang_right[k] / (4 * len(items)):.1%}" for k in sorted(lang_right))
        )
    print("all: " + ", ".join(f"{k} {right[k]}/{totals[k]} = {right[k] / totals[k]:.1%}" for k in sorted(totals)))
    print("another letter read: " + ", ".join(f"{k} {misread[k]}" for k in sorted(totals)))


if __name__ == "__main__":
    main()
