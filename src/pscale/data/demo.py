"""Synthetic parallel corpus of one-step arithmetic word problems in the 11 study languages.

The offline demo cannot download MGSM-style data, so it generates its own: every problem id
is the *same* situation (operation, operands, template, object, person) rendered natively in
each language, which is what a cross-lingual transfer study needs.

The words are data, one file per language (``demo_templates/<lang>.yaml``, shipped inside the
package): the language's question and solution templates per operation, its objects with
their grammatical forms, its names, and how it says "n objects". Each file's header explains
the placeholders, so a native speaker can review it without reading this module. This module
reads the files (once), applies the grammar that is logic rather than words (Russian plural
forms, gendered alternatives, case forms), renders with one function (:func:`_render`) and
samples the problems.

Numbers are always ASCII digits so answers, equations and rewards stay language-neutral.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import polars as pl
import yaml

from pscale.data.demo_datasets import DEMO_DATASETS
from pscale.errors import UserError
from pscale.languages import STUDY_LANGUAGES

OPERATIONS: tuple[str, ...] = ("add", "sub", "mul")
OP_SYMBOLS: dict[str, str] = {"add": "+", "sub": "-", "mul": "*"}
N_TEMPLATES = 3
N_OBJECTS = 6
N_NAMES = 6

_TEMPLATE_DIR = "demo_templates"
_GENDERS = ("m", "f")
_QUANTITY_FIELDS = ("n", "noun")  # set by the code; object keys must not shadow them


# --------------------------------------------------------------------------------------
# Template files
# --------------------------------------------------------------------------------------
Template = tuple[str, str]  # (question, solution sentence)


@dataclass(frozen=True)
class LanguageData:
    """One language's file: how it says "n objects", its people, objects and templates."""

    quantity: str
    names: tuple[dict[str, str], ...]  # case forms: nom, and gen/dat where the language needs them
    genders: tuple[str, ...]
    objects: tuple[dict[str, Any], ...]
    templates: dict[str, tuple[Template, ...]]


def _read(lang: str) -> dict[str, Any]:
    file = resources.files("pscale.data") / _TEMPLATE_DIR / f"{lang}.yaml"
    return yaml.safe_load(file.read_text(encoding="utf-8"))


def _parse(lang: str, raw: Any) -> LanguageData:
    """Check one file's layout (a broken shipped file is a bug: it keeps its traceback)."""
    where = f"pscale/data/{_TEMPLATE_DIR}/{lang}.yaml"

    def check(ok: bool, problem: str) -> None:
        if not ok:
            raise ValueError(f"{where}: {problem}")

    check(
        isinstance(raw, dict) and set(raw) == {"quantity", "names", "objects", "templates"},
        "needs exactly the keys quantity, names, objects, templates",
    )
    names, objects, templates = raw["names"], raw["objects"], raw["templates"]
    check(isinstance(raw["quantity"], str), "quantity must be a string")
    check(
        len(names) == N_NAMES and all("nom" in n and n.get("gender") in _GENDERS for n in names),
        f"names must list {N_NAMES} people, each with nom and gender (m or f)",
    )
    check(
        len(objects) == N_OBJECTS and all(("pl" in o) != ("forms" in o) for o in objects),
        f"objects must list {N_OBJECTS} objects, each with pl or (Russian-style) forms",
    )
    check(all(len(o["forms"]) == 4 for o in objects if "forms" in o), "forms lists 1 / 2-4 / 5+ / accusative of 1")
    check(not any(set(o) & set(_QUANTITY_FIELDS) for o in objects), f"object keys may not be {_QUANTITY_FIELDS}")
    check(isinstance(templates, dict) and tuple(templates) == OPERATIONS, f"templates must have {OPERATIONS}")
    for op in OPERATIONS:
        check(
            len(templates[op]) == N_TEMPLATES and all(set(t) == {"question", "solution"} for t in templates[op]),
            f"templates.{op} must list {N_TEMPLATES} entries, each with question and solution",
        )
    return LanguageData(
        quantity=raw["quantity"],
        names=tuple({k: v for k, v in n.items() if k != "gender"} for n in names),
        genders=tuple(n["gender"] for n in names),
        objects=tuple(objects),
        templates={op: tuple((t["question"], t["solution"]) for t in templates[op]) for op in OPERATIONS},
    )


@cache
def _corpus_data() -> dict[str, LanguageData]:
    raw = {lang: _read(lang) for lang in STUDY_LANGUAGES}
    data = {lang: _parse(lang, raw[lang]) for lang in STUDY_LANGUAGES}
    genders = {lang: d.genders for lang, d in data.items()}
    if len(set(genders.values())) != 1:
        raise ValueError(f"person j must have the same gender in every language file: {genders}")
    return data


def language_data(lang: str) -> LanguageData:
    """The templates, objects and names of one study language (read once)."""
    return _corpus_data()[lang]


# --------------------------------------------------------------------------------------
# Grammar helpers
# --------------------------------------------------------------------------------------
def ru_plural_index(n: int) -> int:
    """Russian noun form after a number: 0 = 1/21/31.., 1 = 2-4/22-24.., 2 = 5+ and 11-14."""
    n10, n100 = n % 10, n % 100
    if n10 == 1 and n100 != 11:
        return 0
    if 2 <= n10 <= 4 and not 12 <= n100 <= 14:
        return 1
    return 2


class _Num(int):
    """An int whose format spec ``ONE|FEW|MANY`` picks the Russian noun form for it."""

    def __format__(self, spec: str) -> str:
        if "|" in spec:
            return spec.split("|")[ru_plural_index(int(self))]
        return str(int(self))


@dataclass(frozen=True)
class _Person:
    """A localised name; format spec selects a case form or a gendered alternative."""

    forms: dict[str, str]
    gender: str

    def __format__(self, spec: str) -> str:
        if "|" in spec:
            male, female = spec.split("|")
            return male if self.gender == "m" else female
        return self.forms[spec or "nom"]


@dataclass(frozen=True)
class _Object:
    """A localised object noun; ``{obj}`` is its plural, ``{obj:key}`` an extra form."""

    data: dict[str, Any]

    def __format__(self, spec: str) -> str:
        if spec:
            return str(self.data[spec])
        if "forms" in self.data:
            return self.data["forms"][2]  # Russian genitive plural, as after "Сколько"
        return self.data["pl"]


def _noun(obj: dict[str, Any], n: int, case: str) -> str:
    """The noun after the number n: Russian-style ``forms`` agree with n (and the case)."""
    if "forms" not in obj:
        return obj["pl"]
    idx = ru_plural_index(n)
    return obj["forms"][3] if case == "acc" and idx == 0 else obj["forms"][idx]


def _quantity(lang: LanguageData, obj: dict[str, Any], n: int, number: str, case: str = "nom") -> str:
    """The natural 'n objects' phrase; ``number`` is the text shown for n (may be an equation)."""
    return lang.quantity.format(n=number, noun=_noun(obj, n, case), **obj)


# --------------------------------------------------------------------------------------
# Problems and rendering
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One language-independent problem; rendered identically in every language."""

    op: str
    a: int
    b: int
    template: int
    obj: int
    name: int

    @property
    def key(self) -> tuple[str, int, int, int, int]:
        """What must be unique across the whole corpus (the name is cosmetic)."""
        return (self.op, self.a, self.b, self.template, self.obj)

    @property
    def answer(self) -> int:
        if self.op == "add":
            return self.a + self.b
        if self.op == "sub":
            return self.a - self.b
        return self.a * self.b


def _render(problem: Problem, lang: str) -> tuple[str, str]:
    """Render (question, solution) for one problem in one language."""
    data = language_data(lang)
    question_t, solution_t = data.templates[problem.op][problem.template]
    obj = data.objects[problem.obj]
    a, b, c = problem.a, problem.b, problem.answer
    eq = f"{a} {OP_SYMBOLS[problem.op]} {b} = {c}"
    fields = {
        "name": _Person(data.names[problem.name], data.genders[problem.name]),
        "a": _Num(a),
        "b": _Num(b),
        "c": _Num(c),
        "obj": _Object(obj),
        "A": _quantity(data, obj, a, str(a)),
        "B": _quantity(data, obj, b, str(b)),
        "A_acc": _quantity(data, obj, a, str(a), "acc"),
        "B_acc": _quantity(data, obj, b, str(b), "acc"),
        "eq": eq,
        "EQ": _quantity(data, obj, c, eq),
        "EQ_acc": _quantity(data, obj, c, eq, "acc"),
    }
    question = question_t.format(**fields)
    sentence = solution_t.format(**fields)
    return question, f"<think>{sentence}</think>\n\\boxed{{{c}}}"


# --------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------
#: Operand ranges (inclusive) per difficulty and operation: (a range, b range).
_RANGES: dict[str, dict[str, tuple[tuple[int, int], tuple[int, int]]]] = {
    "easy": {"add": ((2, 9), (2, 9)), "sub": ((4, 12), (2, 9)), "mul": ((2, 5), (2, 5))},
    "hard": {"add": ((10, 25), (2, 9)), "sub": ((13, 25), (2, 9)), "mul": ((2, 5), (6, 9))},
}
#: Subtraction keeps the result >= 2 so every quantity in every language is a plural.
_MIN_SUB_RESULT = 2


def _capacity(level: str, op: str) -> int:
    """Number of distinct (a, b, template, object) combinations for an operation."""
    (alo, ahi), (blo, bhi) = _RANGES[level][op]
    if op == "sub":
        pairs = sum(1 for a in range(alo, ahi + 1) for b in range(blo, bhi + 1) if a - b >= _MIN_SUB_RESULT)
    else:
        pairs = (ahi - alo + 1) * (bhi - blo + 1)
    return pairs * N_TEMPLATES * N_OBJECTS


def _draw(rng: random.Random, level: str, n: int, seen: set[tuple[str, int, int, int, int]]) -> list[Problem]:
    """Draw n problems with unseen keys; operations are balanced while capacity allows."""
    used = {op: sum(1 for k in seen if k[0] == op and _in_level(k, level)) for op in OPERATIONS}
    capacity = {op: _capacity(level, op) for op in OPERATIONS}
    problems: list[Problem] = []
    while len(problems) < n:
        open_ops = [op for op in OPERATIONS if used[op] < capacity[op]]
        if not open_ops:
            raise UserError(
                f"cannot draw {n} distinct {level} problems: the {level} level has {sum(capacity.values())} "
                "in all, shared by the demo datasets drawn from it (lower n_train / n_test)"
            )
        op = rng.choice(open_ops)
        (alo, ahi), (blo, bhi) = _RANGES[level][op]
        a, b = rng.randint(alo, ahi), rng.randint(blo, bhi)
        if op == "sub" and a - b < _MIN_SUB_RESULT:
            continue
        problem = Problem(op, a, b, rng.randrange(N_TEMPLATES), rng.randrange(N_OBJECTS), rng.randrange(N_NAMES))
        if problem.key in seen:
            continue
        seen.add(problem.key)
        used[op] += 1
        problems.append(problem)
    return problems


def _in_level(key: tuple[str, int, int, int, int], level: str) -> bool:
    """Whether a key's operands fall in a level's ranges (levels overlap, e.g. 12 + 15)."""
    op, a, b = key[0], key[1], key[2]
    (alo, ahi), (blo, bhi) = _RANGES[level][op]
    return alo <= a <= ahi and blo <= b <= bhi and (op != "sub" or a - b >= _MIN_SUB_RESULT)


def _sample_problems(n_train: int, n_test: int, seed: int) -> dict[str, list[Problem]]:
    """Disjoint problem lists for the three demo datasets (one shared set of seen keys)."""
    if min(n_train, n_test) < 0:
        raise UserError(f"dataset sizes must be non-negative (n_train {n_train}, n_test {n_test})")
    rng = random.Random(seed)
    seen: set[tuple[str, int, int, int, int]] = set()
    return {
        "demo_train": _draw(rng, "easy", n_train, seen),
        "demo_test": _draw(rng, "easy", n_test, seen),
        "demo_hard": _draw(rng, "hard", n_test, seen),
    }


def _to_frame(dataset: str, problems: list[Problem]) -> pl.DataFrame:
    """Long frame, one row per (id, language), languages in study order."""
    rows: dict[str, list[str]] = {k: [] for k in ("id", "lang", "question", "answer", "solution")}
    for i, problem in enumerate(problems):
        pid, answer = f"{dataset}-{i:05d}", str(problem.answer)
        for lang in STUDY_LANGUAGES:
            question, solution = _render(problem, lang)
            rows["id"].append(pid)
            rows["lang"].append(lang)
            rows["question"].append(question)
            rows["answer"].append(answer)
            rows["solution"].append(solution)
    return pl.DataFrame(rows, schema={k: pl.Utf8 for k in rows})


def make_demo_corpus(n_train: int, n_test: int, seed: int) -> dict[str, pl.DataFrame]:
    """Returns {dataset_name: long DataFrame} for the three DEMO_DATASETS."""
    problems = _sample_problems(n_train, n_test, seed)
    return {name: _to_frame(name, problems[name]) for name in DEMO_DATASETS}
