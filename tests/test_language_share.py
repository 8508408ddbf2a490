"""The language of a response is the share of its letters in each language, for every script.

Mixed responses are built from the demo corpus's natively written sentences: an English worked
solution, then the same kind of text in language X, repeated until X holds about 20, 50 or 80%
of the letters. The old scorer gave one whole-text label (share 0 or 1 in effect), so no case
in the table could pass under it: it cannot say 20% or 50%.
"""

from __future__ import annotations

import functools

import polars as pl
import pytest

from pscale.data.demo import make_demo_corpus
from pscale.languages import (
    STUDY_LANGUAGES,
    UNDETERMINED,
    detect_language,
    lang_share,
    language_shares,
    segments,
    strip_non_language,
)

OTHER_SCRIPTS_AND_LATIN = [lang for lang in STUDY_LANGUAGES if lang != "en"]
SHARES = (0.2, 0.5, 0.8)


@functools.lru_cache(maxsize=1)
def _sentences() -> dict[str, list[str]]:
    corpus = make_demo_corpus(8, 2, 3)["demo_train"]
    found: dict[str, list[str]] = {}
    for lang, question, solution in corpus.select("lang", "question", "solution").iter_rows():
        text = f"{question} {solution}"
        found.setdefault(lang, []).extend(seg for seg, _tag, weight in segments(text) if weight >= 12)
    return found


def _letters(text: str) -> int:
    return sum(weight for _seg, _tag, weight in segments(text))


def mixed_response(lang: str, share: float) -> tuple[str, float]:
    """English sentences, then `lang` sentences, until `lang` holds about `share` of the letters."""
    english, foreign = _sentences()["en"], _sentences()[lang]
    en, x = [english[0]], [foreign[0]]
    while abs(_letters(". ".join(x)) / (_letters(". ".join(x)) + _letters(". ".join(en))) - share) > 0.05:
        current = _letters(". ".join(x)) / (_letters(". ".join(x)) + _letters(". ".join(en)))
        if current < share:
            x.append(foreign[len(x) % len(foreign)])
        else:
            en.append(english[len(en) % len(english)])
    text = "<think>" + ". ".join(en) + ".</think>\n" + ". ".join(x) + ". \\boxed{42}"
    truth = _letters(". ".join(x)) / (_letters(". ".join(x)) + _letters(". ".join(en)))
    return text, truth


MIXED = [(lang, share) for lang in OTHER_SCRIPTS_AND_LATIN for share in SHARES]


@pytest.mark.parametrize(("lang", "share"), MIXED, ids=[f"{lang}-{int(share * 100)}" for lang, share in MIXED])
def test_mixed_response_share_is_measured_in_every_script(lang: str, share: float) -> None:
    text, truth = mixed_response(lang, share)
    measured = lang_share(text, lang)
    assert abs(measured - truth) < 0.1, (measured, truth)
    assert abs(lang_share(text, "en") - (1 - truth)) < 0.1
    assert (measured >= 0.5) == (truth >= 0.5) or abs(truth - 0.5) < 0.06


NON_STUDY = [
    ("pt for es", "es", "pt", "O João tem sete maçãs e compra mais quatro no mercado. Portanto, ele tem onze maçãs."),
    ("it for es", "es", "it", "Marco ha sette mele e ne compra altre quattro. Quindi la risposta finale è undici."),
    ("uk for ru", "ru", "uk", "Іван має сім яблук і купує ще чотири. Отже, остаточна відповідь — одинадцять."),
    ("hi for bn", "bn", "hi", "राम के पास सात सेब हैं और वह चार और खरीदता है। इसलिए अंतिम उत्तर ग्यारह है।"),
    ("ko for zh", "zh", "ko", "민수는 사과 일곱 개를 가지고 있고 네 개를 더 삽니다. 따라서 답은 열한 개입니다."),
]


@pytest.mark.parametrize(("case", "query", "actual", "text"), NON_STUDY, ids=[c[0] for c in NON_STUDY])
def test_a_language_outside_the_study_is_reported_as_itself(case: str, query: str, actual: str, text: str) -> None:
    assert detect_language(text) == actual
    assert lang_share(text, query) < 0.5


def test_native_responses_are_fully_on_target() -> None:
    sentences = _sentences()
    for lang in STUDY_LANGUAGES:
        text = "<think>" + " ".join(sentences[lang][:4]) + "</think> \\boxed{12}"
        assert detect_language(text) == lang
        assert lang_share(text, lang) > 0.95, (lang, language_shares(text))


def test_no_letters_is_undetermined_and_off_target() -> None:
    assert detect_language("\\boxed{7}") == UNDETERMINED
    assert lang_share("<think>3 + 4 = 7</think> \\boxed{7} $x^2$", "en") == 0.0
    assert strip_non_language("<think>Tom 3 + 4 = 7</think> \\boxed{7} $x^2$") == "Tom"


def test_scripts_without_spaces_are_split_by_script() -> None:
    text = "篮子里有十块饼干。Emma takes two cookies out of the basket and eats them.ตะกร้ามีคุกกี้สิบชิ้นเหลืออยู่"
    found = [(tag, weight) for _seg, tag, weight in segments(text)]
    assert [tag for tag, _ in found] == ["H", "L", "T"]
    shares = language_shares(text)
    assert set(shares) == {"zh", "en", "th"}
    assert abs(sum(shares.values()) - 1) < 1e-9


def test_letter_weights_count_vowel_signs_and_wide_characters() -> None:
    # Thai vowel signs are marks, not letters, for str.isalpha: they must still count.
    assert _letters("กิน") == 3
    assert _letters("饼干") == 6  # a CJK character weighs 3
    assert _letters("abc") == 3


def test_score_parquet_lang_share_column(tmp_path) -> None:
    from pscale.score import SCORE_COLUMNS, score_generations

    text, truth = mixed_response("th", 0.2)
    pl.DataFrame(
        {
            "id": ["x"],
            "lang": ["th"],
            "sample": [0],
            "answer": ["42"],
            "n_choices": [0],
            "response": [text],
        }
    ).write_parquet(tmp_path / "gen.parquet")
    score_generations(tmp_path / "gen.parquet", tmp_path / "scores.parquet", STUDY_LANGUAGES, {"min_letters": 3})
    scored = pl.read_parquet(tmp_path / "scores.parquet")
    assert tuple(scored.columns) == SCORE_COLUMNS
    assert scored.schema["lang_share"] == pl.Float64
    assert scored["detected_lang"][0] == "en" and abs(scored["lang_share"][0] - truth) < 0.1
    assert scored["correct"][0]
