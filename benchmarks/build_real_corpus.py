"""Build tests/data/real_corpus/: real human-translated benchmark pairs and defects made from them.

The translation validator must be fair to *real* translations, which are messier than any
probe written next to a fix. This script assembles source/translation pairs from public,
human-translated (or human-checked) benchmarks, pinned to git commits, and derives the defect
set by editing those real pairs (deterministic seed):

    python benchmarks/build_real_corpus.py good --mirrors DIR   # needs the pinned source repositories
    python benchmarks/build_real_corpus.py defects               # offline: from good.jsonl.xz

`--mirrors DIR` holds bare clones named like `google-research+url-nlp/repo` (the layout of
`git clone --mirror`); each file is read with `git show <commit>:<path>`, so the pinned commit is
what is read whatever the clone's HEAD. Sources, licences and commits: tests/data/real_corpus/README.md.
Both outputs are committed: CI has no internet.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import lzma
import random
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "real_corpus"
LANGS = ("es", "fr", "de", "ru", "zh", "ja", "th", "sw", "bn", "te")

#: repository -> pinned commit (the snapshot this corpus was built from).
SOURCES = {
    "google-research/url-nlp": "452a21ad3dae5668c06ceeac21ff073e1e40f9be",  # MGSM, CC BY 4.0
    "XZhang00/M-Thinker": "01f9bebb84585af684ee60c7394de1171eda3134",  # PolyMath copy (Qwen), Apache-2.0 repo
    "Betswish/mCoT-XReasoning": "35d21fb2ee4a9cc92ecfe56549a7840360f7cfbc",  # XReasoning AIME 2024/25, GPQA
    "RUCAIBox/MMATH": "8796b04daceddf0fd4d5855455f26a16a86f1e60",  # MMATH (MATH-500, AIME, CNMO)
}

#: How many items of each source go into the corpus (every language gets the same items).
MGSM_ITEMS = 120
POLYMATH_PER_LEVEL = 25
MMATH_ITEMS = 60  # MATH-500 items of MMATH, those with [asy] figures first

#: Pairs of the sources that are not good translations, found by reading every pair the validator
#: rejected: a translator's preface or instruction (in the target language) before the text, a
#: cut-off text. A translation with fewer figures than its source is one too (_dropped_figure). They are
#: kept as real defects (origin: real), not good pairs.
REAL_DEFECTS: dict[str, str] = {
    # The meaning changed: "4 times as much" became "as much as" (ja), "3 fewer" became "2 fewer" (zh),
    # the sentence with "68 pairs" dropped (zh).
    "mgsm/77/ja": "numbers",
    "mgsm/249/ja": "numbers",
    "mgsm/161/zh": "numbers",
    "polymath/top-96/zh": "numbers",
    # [asy] code with its line breaks removed: its // comments now swallow the drawing commands.
    "mmath/math500-194/es": "figure",
    "mmath/math500-194/fr": "figure",
    "mmath/math500-194/ja": "figure",
    "mmath/math500-194/th": "figure",
    "polymath/top-93/te": "preface",
    "xr-aime/aime2024-63/ja": "preface",
    "xr-aime/aime2024-66/ja": "preface",
    "xr-aime/aime2024-71/ja": "preface",
    "xr-aime/aime2024-74/ja": "preface",
    "xr-aime/aime2024-76/ja": "preface",
    "xr-aime/aime2024-79/ja": "preface",
    "xr-aime/aime2024-83/ja": "preface",
    "xr-aime/aime2024-84/ja": "preface",
    "xr-aime/aime2024-63/bn": "preface",
    "xr-aime/aime2024-64/te": "preface",
    "xr-aime/aime2024-66/te": "preface",
    "xr-aime/aime2024-72/te": "preface",
    "xr-aime/aime2024-77/te": "preface",
    "xr-aime/aime2025-4/ja": "preface",
    "xr-aime/aime2025-8/ja": "preface",
    "xr-aime/aime2025-9/ja": "preface",
    "xr-aime/aime2025-15/ja": "preface",
    "xr-aime/aime2025-19/ja": "preface",
    "xr-aime/aime2025-23/ja": "preface",
    "xr-aime/aime2025-26/ja": "preface",
    "xr-aime/aime2025-28/ja": "preface",
    "xr-aime/aime2025-15/sw": "preface",
    "xr-aime/aime2025-3/bn": "preface",
    "xr-aime/aime2025-4/bn": "preface",
    "xr-aime/aime2025-8/bn": "preface",
    "xr-aime/aime2025-23/bn": "preface",
    "xr-aime/aime2025-29/bn": "preface",
    "xr-aime/aime2025-4/te": "preface",
    "xr-aime/aime2025-23/te": "preface",
    "xr-aime/aime2025-27/te": "preface",
    "xr-gpqa/gpqa_diamond_mc-167/fr": "preface",
    "xr-gpqa/gpqa_diamond_mc-186/fr": "preface",
    "xr-gpqa/gpqa_diamond_mc-182/zh": "preface",
    "xr-gpqa/gpqa_diamond_mc-11/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-16/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-23/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-31/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-34/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-50/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-56/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-58/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-61/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-66/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-80/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-82/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-91/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-106/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-108/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-132/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-150/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-154/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-159/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-162/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-167/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-174/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-175/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-179/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-182/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-184/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-185/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-187/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-193/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-197/ja": "preface",
    "xr-gpqa/gpqa_diamond_mc-8/th": "preface",
    "xr-gpqa/gpqa_diamond_mc-57/th": "preface",
    "xr-gpqa/gpqa_diamond_mc-65/th": "preface",
    "xr-gpqa/gpqa_diamond_mc-188/th": "preface",
    "xr-gpqa/gpqa_diamond_mc-188/sw": "preface",
    "xr-gpqa/gpqa_diamond_mc-56/bn": "preface",
    "xr-gpqa/gpqa_diamond_mc-58/bn": "preface",
    "xr-gpqa/gpqa_diamond_mc-80/bn": "preface",
    "xr-gpqa/gpqa_diamond_mc-150/bn": "preface",
    "xr-gpqa/gpqa_diamond_mc-166/bn": "preface",
    "xr-gpqa/gpqa_diamond_mc-185/bn": "preface",
    "xr-gpqa/gpqa_diamond_mc-80/te": "preface",
    "xr-gpqa/gpqa_diamond_mc-133/te": "preface",
    "xr-gpqa/gpqa_diamond_mc-167/te": "preface",
    "xr-gpqa/gpqa_diamond_mc-172/te": "preface",
    "xr-gpqa/gpqa_diamond_mc-182/te": "preface",
    "xr-gpqa/gpqa_diamond_mc-127/es": "truncated",
    "xr-gpqa/gpqa_diamond_mc-127/fr": "truncated",
    "xr-gpqa/gpqa_diamond_mc-127/de": "truncated",
    "xr-gpqa/gpqa_diamond_mc-127/ru": "truncated",
    "xr-gpqa/gpqa_diamond_mc-127/zh": "truncated",
    "xr-gpqa/gpqa_diamond_mc-127/ja": "truncated",
    "xr-gpqa/gpqa_diamond_mc-127/th": "truncated",
    "xr-gpqa/gpqa_diamond_mc-127/sw": "truncated",
    "xr-gpqa/gpqa_diamond_mc-127/bn": "truncated",
    "xr-gpqa/gpqa_diamond_mc-127/te": "truncated",
}


def _git_show(mirrors: Path, repo: str, path: str) -> bytes:
    git_dir = mirrors / repo.replace("/", "+") / "repo"
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), "show", f"{SOURCES[repo]}:{path}"], check=True, capture_output=True
    ).stdout


def _split(key: str) -> str:
    """dev (tuned on) or held (reported on): by item, so an item's languages stay together."""
    return "dev" if int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2 == 0 else "held"


def _pair(source: str, item: str, lang: str, en: str, tr: str, answer: str, notes: dict[str, Any]) -> dict[str, Any]:
    key = f"{source}/{item}"
    return {"id": f"{key}/{lang}", "item": key, "source": source, "lang": lang, "split": _split(key)} | {
        "en": en.strip(),
        "tr": tr.strip(),
        "answer": answer,
        **notes,
    }


def _mgsm(mirrors: Path) -> Iterator[dict[str, Any]]:
    def rows(lang: str) -> list[list[str]]:
        text = _git_show(mirrors, "google-research/url-nlp", f"mgsm/mgsm_{lang}.tsv").decode()
        return [line.split("\t") for line in text.splitlines() if line.strip()]

    english = rows("en")
    picked = sorted(random.Random(16).sample(range(len(english)), MGSM_ITEMS))
    for lang in LANGS:
        translated = rows(lang)
        for index in picked:
            (en, answer), (tr, tr_answer) = english[index], translated[index]
            assert answer.strip() == tr_answer.strip(), (lang, index)
            yield _pair("mgsm", str(index), lang, en, tr, answer.strip(), {})


def _polymath(mirrors: Path) -> Iterator[dict[str, Any]]:
    import polars as pl

    base = "eval_tools/PolyMath/data-polymath"
    for level in ("low", "medium", "high", "top"):
        english = pl.read_parquet(io.BytesIO(_git_show(mirrors, "XZhang00/M-Thinker", f"{base}/en/{level}.parquet")))
        rng = random.Random(f"polymath-{level}")
        picked = sorted(rng.sample(range(english.height), POLYMATH_PER_LEVEL))
        for lang in LANGS:
            frame = pl.read_parquet(
                io.BytesIO(_git_show(mirrors, "XZhang00/M-Thinker", f"{base}/{lang}/{level}.parquet"))
            )
            for index in picked:
                en, tr = english.row(index, named=True), frame.row(index, named=True)
                assert en["id"].replace("-en-", "") == tr["id"].replace(f"-{lang}-", ""), (en["id"], tr["id"])
                yield _pair("polymath", f"{level}-{index}", lang, en["question"], tr["question"], en["answer"], {})


def _arrow_rows(mirrors: Path, path: str) -> list[dict[str, Any]]:
    import pyarrow as pa

    return pa.ipc.open_stream(_git_show(mirrors, "Betswish/mCoT-XReasoning", path)).read_all().to_pylist()


def _xreasoning(mirrors: Path) -> Iterator[dict[str, Any]]:
    for name, source in (("aime2024", "xr-aime"), ("aime2025", "xr-aime"), ("gpqa_diamond_mc", "xr-gpqa")):
        path = "XReasoning_data/translated_{}/{}/data-00000-of-00001.arrow"
        english = _arrow_rows(mirrors, path.format(name, "en"))
        for lang in LANGS:
            translated = _arrow_rows(mirrors, path.format(name, lang))
            for index, (en, tr) in enumerate(zip(english, translated, strict=True)):
                answer = en.get("answer") or en["solution"]
                assert answer == (tr.get("answer") or tr["solution"]), (name, lang, index)
                item = f"{name}-{en.get('id', index)}"
                yield _pair(source, item, lang, en["problem"], tr["problem"], answer, {})


def _mmath(mirrors: Path) -> Iterator[dict[str, Any]]:
    english = json.loads(_git_show(mirrors, "RUCAIBox/MMATH", "mmath/en.json"))
    math500 = [i for i, row in enumerate(english) if row["data_source"] == "MATH500"]
    figures = [i for i in math500 if "[asy]" in english[i]["question"]]
    rest = [i for i in math500 if i not in figures]
    picked = sorted(figures + random.Random(500).sample(rest, MMATH_ITEMS - len(figures)))
    for lang in ("es", "fr", "ja", "th", "zh"):  # MMATH's study languages
        translated = json.loads(_git_show(mirrors, "RUCAIBox/MMATH", f"mmath/{lang}.json"))
        for index in picked:
            en, tr = english[index], translated[index]
            assert en["gid"] == tr["gid"] and en["answer"] == tr["answer"]
            yield _pair("mmath", f"math500-{en['gid']}", lang, en["question"], tr["question"], en["answer"], {})


def build_good(mirrors: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(good pairs, real defects): every pair of the sources, REAL_DEFECTS set apart."""
    pairs = [*_mgsm(mirrors), *_polymath(mirrors), *_xreasoning(mirrors), *_mmath(mirrors)]
    kinds = {p["id"]: REAL_DEFECTS.get(p["id"]) or _dropped_figure(p) for p in pairs}
    real = [_defect(p, kinds[p["id"]], p["tr"]) | {"origin": "real"} for p in pairs if kinds[p["id"]]]
    return [p for p in pairs if not kinds[p["id"]]], real


def _dropped_figure(pair: dict[str, Any]) -> str | None:
    """ "figure" when the translation has fewer [asy] / TikZ figures than its source."""
    return "figure" if len(_FIGURE.findall(pair["tr"])) < len(_FIGURE.findall(pair["en"])) else None


# ------------------------------------------------------------------------------------------
# Defects: real pairs, edited
# ------------------------------------------------------------------------------------------

#: Translator prefaces, headings and instructions about translating, written natively: leads
#: short and long (> 60 characters), "original problem:" headings, an instruction line.
PREFACES: dict[str, list[str]] = {
    "es": [
        "Aquí está la traducción del problema al español:",
        "Claro, a continuación te presento la traducción completa y fiel del enunciado original al español:",
        "Problema original:",
        "Traduce el problema al español:",
        "Traducción:",
    ],
    "fr": [
        "Voici la traduction du problème en français :",
        "Bien sûr ! Voici la traduction complète et fidèle de l'énoncé original, en respectant toutes les consignes :",
        "Problème original :",
        "Traduisez le problème en français :",
        "Traduction :",
    ],
    "de": [
        "Hier ist die Übersetzung der Aufgabe ins Deutsche:",
        "Gerne, im Folgenden finden Sie die vollständige und originalgetreue Übersetzung der ursprünglichen Aufgabe:",
        "Ursprüngliche Aufgabe:",
        "Übersetze die Aufgabe ins Deutsche:",
        "Übersetzung:",
    ],
    "ru": [
        "Вот перевод задачи на русский язык:",
        "Конечно, ниже приведён полный и точный перевод исходной задачи на русский язык "
        "с сохранением всех обозначений:",
        "Исходная задача:",
        "Переведите задачу на русский язык:",
        "Перевод:",
    ],
    "zh": [
        "以下是翻译成中文的题目：",
        "好的，下面是按照要求将原题完整、忠实地翻译成简体中文后的版本，所有公式和数字均保持不变，请查阅：",
        "原题：",
        "请将题目翻译成中文：",
        "译文：",
    ],
    "ja": [
        "以下は日本語に翻訳した問題です：",
        "承知しました。以下に、元の問題文を数式や数字をそのまま保ちながら、日本語に忠実かつ完全に翻訳したものを示します：",
        "元の問題：",
        "問題を日本語に翻訳してください：",
        "翻訳：",
    ],
    "th": [
        "นี่คือคำแปลของโจทย์เป็นภาษาไทย:",
        "ได้เลยครับ ด้านล่างนี้คือคำแปลโจทย์ต้นฉบับเป็นภาษาไทยอย่างครบถ้วนและถูกต้อง โดยคงสูตรและตัวเลขไว้ทั้งหมด:",
        "โจทย์ต้นฉบับ:",
        "แปลโจทย์ต่อไปนี้เป็นภาษาไทย:",
        "คำแปล:",
    ],
    "sw": [
        "Hii ndiyo tafsiri ya swali kwa Kiswahili:",
        "Sawa, hapa chini kuna tafsiri kamili na sahihi ya swali la asili kwa Kiswahili, "
        "bila kubadilisha namba wala fomula:",
        "Swali la asili:",
        "Tafsiri swali hili kwa Kiswahili:",
        "Tafsiri:",
    ],
    "bn": [
        "এখানে প্রশ্নটির বাংলা অনুবাদ দেওয়া হলো:",
        "অবশ্যই, নিচে মূল প্রশ্নটির সম্পূর্ণ ও নির্ভুল বাংলা অনুবাদ দেওয়া হলো, সব সূত্র ও সংখ্যা অপরিবর্তিত রেখে:",
        "মূল প্রশ্ন:",
        "প্রশ্নটি বাংলায় অনুবাদ করুন:",
        "অনুবাদ:",
    ],
    "te": [
        "ఇక్కడ ప్రశ్న యొక్క తెలుగు అనువాదం ఉంది:",
        "సరే, క్రింద అసలు ప్రశ్న యొక్క పూర్తి మరియు ఖచ్చితమైన తెలుగు అనువాదం ఇవ్వబడింది, అన్ని సూత్రాలు మరియు సంఖ్యలు మార్చకుండా:",
        "అసలు ప్రశ్న:",
        "ప్రశ్నను తెలుగులోకి అనువదించండి:",
        "అనువాదం:",
    ],
}
_NUMBER = re.compile(r"(?<![\d.,^_{])\d+(?:[.,]\d+)?(?![\d}])")
_BOXED_LINE = re.compile(r"[^\n]*\\boxed\{[^\n]*")
_FIGURE = re.compile(r"\[asy\].*?\[/asy\]|\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", re.DOTALL)


def _defect(pair: dict[str, Any], kind: str, output: str, finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": f"{pair['id']}/{kind}",
        "pair": pair["id"],
        "lang": pair["lang"],
        "split": pair["split"],
        "kind": kind,
        "en": pair["en"],
        "tr": output,
        "finish_reason": finish_reason,
        "origin": "edited",
    }


def _number_defect(pair: dict[str, Any], rng: random.Random) -> dict[str, Any] | None:
    """Drop one number of the translation, or change one digit of it (a number the source has)."""

    def count(text: str, number: str) -> int:
        return len(re.findall(rf"(?<![\w.,-]){re.escape(number)}(?![\w.,-]?\d)", text))

    # A number the source writes as often as the translation: dropping or changing it loses one.
    matches = [
        m for m in _NUMBER.finditer(pair["tr"]) if 0 < count(pair["tr"], m.group()) <= count(pair["en"], m.group())
    ]
    if not matches:
        return None
    match = rng.choice(matches)
    text = match.group()
    if rng.random() < 0.5:
        changed = ""
    else:
        position = rng.randrange(len(text))
        while not text[position].isdigit():
            position = rng.randrange(len(text))
        digit = str((int(text[position]) + rng.randrange(1, 10)) % 10)
        changed = text[:position] + digit + text[position + 1 :]
    return _defect(pair, "numbers", pair["tr"][: match.start()] + changed + pair["tr"][match.end() :])


def make_defects(good: list[dict[str, Any]], seed: int = 16) -> list[dict[str, Any]]:
    """Every defect class in every language, edited from real good pairs (deterministic)."""
    rng = random.Random(seed)
    from pscale.translate.translator_prompt import load_prompt  # the prompt the backend sends

    prompt = load_prompt(Path(__file__).resolve().parents[1] / "resources" / "translation" / "prompts-v1.yaml")
    defects: list[dict[str, Any]] = []
    for lang in LANGS:
        pairs = [p for p in good if p["lang"] == lang]
        sample = rng.sample(pairs, 60)
        for pair in sample[:40]:
            if (found := _number_defect(pair, rng)) is not None:
                defects.append(found)
        for pair in [p for p in pairs if "\\boxed" in p["en"] and _BOXED_LINE.search(p["tr"])][::8][:25]:
            defects.append(_defect(pair, "boxed", _BOXED_LINE.sub("", pair["tr"], count=1).strip()))
        for pair in [p for p in pairs if _FIGURE.search(p["en"]) and _FIGURE.search(p["tr"])]:
            figure = _FIGURE.search(pair["tr"])
            assert figure is not None
            defects.append(_defect(pair, "figure", (pair["tr"][: figure.start()] + pair["tr"][figure.end() :]).strip()))
            code = figure.group()
            lines = [i for i, line in enumerate(code.split("\n")) if re.search(r"\d", line)]
            if lines:
                parts = code.split("\n")
                parts[lines[len(lines) // 2]] = re.sub(
                    r"\d+", lambda m: str(int(m.group()) + 1), parts[lines[len(lines) // 2]]
                )
                defects.append(_defect(pair, "figure", pair["tr"].replace(code, "\n".join(parts))))
        for index, pair in enumerate(sample[:30]):
            phrase = PREFACES[lang][index % len(PREFACES[lang])]
            text = pair["tr"]
            if index % 3 == 0:  # a line of its own
                output = f"{phrase}\n\n{text}"
            elif index % 3 == 1:  # the same line as the text
                output = f"{phrase} {text}"
            else:  # after the first sentence of the opening paragraph
                cut = re.search(r"[.?!。？！।]\s*", text[:200])
                output = text[: cut.end()] + f" {phrase} " + text[cut.end() :] if cut else f"{phrase}\n{text}"
            defects.append(_defect(pair, "preface", output))
        for index, pair in enumerate(sample[30:45]):
            if index % 3 == 0:
                output = f"{pair['en']}\n\n{pair['tr']}"
            elif index % 3 == 1:
                output = f"{pair['tr']}\n\n{pair['en']}"
            else:  # the first English sentence before the translation
                first = re.match(r".+?[.?!](?=\s)", pair["en"])
                output = f"{first.group() if first else pair['en']}\n{pair['tr']}"
            defects.append(_defect(pair, "original", output))
        for index, pair in enumerate(sample[45:60]):
            text = pair["tr"]
            cut = int(len(text) * rng.uniform(0.45, 0.8))
            output = text[:cut]
            defects.append(_defect(pair, "truncated", output, "length" if index % 3 == 0 else None))
        for index, pair in enumerate(sample[:15]):
            system = prompt.system_message(lang)
            output = f"{system}\n\n{pair['tr']}" if index % 2 == 0 else f"{pair['tr']}\n\n{system.splitlines()[-1]}"
            defects.append(_defect(pair, "prompt", output))
    return defects


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    data = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows).encode()
    path.write_bytes(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lzma.decompress(path.read_bytes()).decode().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("good", "defects"))
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.what == "good":
        good, real = build_good(args.mirrors)
        write_jsonl(OUT / "good.jsonl.xz", good)
        write_jsonl(OUT / "real_defects.jsonl.xz", real)
        print(f"{len(good)} good pairs, {len(real)} real defects -> {OUT}")
    good = read_jsonl(OUT / "good.jsonl.xz")
    defects = make_defects(good) + read_jsonl(OUT / "real_defects.jsonl.xz")
    write_jsonl(OUT / "defects.jsonl.xz", defects)
    print(f"{len(defects)} defects -> {OUT / 'defects.jsonl.xz'}")


if __name__ == "__main__":
    main()
