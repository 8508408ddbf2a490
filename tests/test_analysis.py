"""Analysis: MTI, tables, the scaling-law fit, and the bootstrap behind every interval.

The bootstrap tests use synthetic score data with a known truth (tests/synthetic.py) and are
written to fail for the classic mistakes: an unpaired resample, an interval that treats a
problem's samples as independent or ignores seed-to-seed variation, and a leave-one-X-out
that sees the point it predicts.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import polars as pl
import pytest
from synthetic import score_frame

from pscale.analysis import analyse, mti
from pscale.config import validate_config
from pscale.errors import UserError
from pscale.fit import fit_power_law, fit_power_law_rows, leave_one_out, power_law, scaling_law
from pscale.runs import (
    POOLED,
    RUN_PATTERN,
    Run,
    facts_json,
    initial_run,
    observational_run,
    run_id,
    runs_from_facts,
    trained_run,
    trained_runs,
)

INIT = initial_run()


def grpo(x: int, seed: int = 0) -> Run:
    """The GRPO run on X languages under the growing budget, as the workflow names it."""
    return trained_run("grpo", "grow", x, seed)


ORDER = ["es", "ru", "de", "fr", "bn", "th", "zh"]


def test_run_facts_travel_beside_the_name() -> None:
    """The workflow makes each run's name from its facts and hands the facts on (--run-facts):
    the seed, X, method and budget arrive as values, and the name is only a label."""
    run = trained_run("grpo", "fixed", 3, 2)
    assert run.name == run_id("grpo", "fixed", 3, 2) == "grpo-fixed-x3-s2" and run.pooled == "grpo-fixed-x3"
    runs = [initial_run(), run, observational_run("r1-s1")]
    assert all(re.fullmatch(RUN_PATTERN, r.name) for r in runs)
    read = runs_from_facts(json.loads(facts_json(runs)))
    assert list(read.values()) == runs
    assert read["obs-r1-s1"].seed is None and read["obs-r1-s1"].pooled == "obs-r1-s1"  # no seed read from a name
    assert (read["init"].method, read["init"].n_languages, read["init"].pooled) == ("none", 0, "init")
    for broken in (
        [],
        {"x": {"method": "grpo"}},
        {"x": {"method": "grpo", "budget": "grow", "n_languages": True, "seed": 0}},
    ):
        with pytest.raises(UserError, match="--run-facts"):
            runs_from_facts(broken)


def test_an_ablation_is_a_method_of_its_own_trained_as_grpo() -> None:
    config = validate_config(
        {
            "subset_sizes": [1, 2, 4],
            "budgets": ["grow", "fixed"],
            "seeds": [0, 1],
            "training": {"ablations": {"nolang": {"reward_weights": {"language": 0}, "subset_sizes": [2, 4]}}},
        }
    )
    runs = trained_runs(config)
    ablated = [run for run in runs if run.ablation]
    assert len(runs) == 3 * 2 * 2 + 2 * 2 * 2 and len(ablated) == 8
    run = next(r for r in ablated if r.budget == "fixed" and r.n_languages == 4 and r.seed == 1)
    assert (run.name, run.pooled, run.trainer, run.ablation) == (
        "grpo_nolang-fixed-x4-s1",
        "grpo_nolang-fixed-x4",
        "grpo",
        "nolang",
    )
    assert all(re.fullmatch(RUN_PATTERN, r.name) for r in runs)
    assert list(runs_from_facts(json.loads(facts_json(runs))).values()) == runs
    assert (grpo(2).trainer, grpo(2).ablation) == ("grpo", None)


def test_mti_known_value() -> None:
    before = {"en": 0.5, "es": 0.2, "ja": 0.1, "te": 0.4}
    after = {"en": 0.6, "es": 0.3, "ja": 0.2, "te": 0.5}
    # gains: en 0.2, es 0.5 (seen: mean 0.35); ja 1.0, te 0.25 (unseen: mean 0.625)
    result = mti(before, after, {"en", "es"})
    assert result.gain_seen == pytest.approx(0.35)
    assert result.gain_unseen == pytest.approx(0.625)
    assert result.mti == pytest.approx(0.625 / 0.35)


def test_mti_zero_baseline_rules() -> None:
    before = {"en": 0.5, "ja": 0.0, "te": 0.2}
    after = {"en": 1.0, "ja": 0.1, "te": 0.3}
    skipped = mti(before, after, {"en"}, zero_baseline="skip", min_baseline=0.05)
    assert skipped.skipped == ["ja"]
    assert skipped.mti == pytest.approx(0.5 / 1.0)
    floored = mti(before, after, {"en"}, zero_baseline="floor", min_baseline=0.05)
    assert floored.skipped == []
    assert floored.mti == pytest.approx(((0.1 - 0.05) / 0.05 + 0.5) / 2 / 1.0)


def test_mti_undefined_when_training_languages_did_not_gain() -> None:
    assert math.isnan(mti({"en": 0.5, "ja": 0.5}, {"en": 0.4, "ja": 0.6}, {"en"}).mti)
    # seen gains that cancel to float noise (+0.1 and -0.1 relative) must not explode the ratio
    cancelled = mti({"en": 0.3, "es": 0.7, "ja": 0.5}, {"en": 0.33, "es": 0.63, "ja": 0.6}, {"en", "es"})
    assert abs(cancelled.gain_seen) < 1e-9 and math.isnan(cancelled.mti)


def test_mti_on_replicates_is_the_same_definition() -> None:
    """Arrays of replicates give, element by element, what the scalar definition gives."""
    rng = np.random.default_rng(1)
    langs = ["en", "es", "ja", "te"]
    before = {lang: rng.uniform(0, 0.3, 50) for lang in langs}
    after = {lang: rng.uniform(0, 0.6, 50) for lang in langs}
    for rule in ("skip", "floor"):
        vector = mti(before, after, {"en", "es"}, rule, 0.05)
        for b in range(50):
            one = mti(
                {k: v[b] for k, v in before.items()}, {k: v[b] for k, v in after.items()}, {"en", "es"}, rule, 0.05
            )
            assert (math.isnan(one.mti) and math.isnan(vector.mti[b])) or one.mti == pytest.approx(vector.mti[b])


def test_power_law_fit_recovers_coefficients() -> None:
    xs = np.array([2, 3, 4, 5, 6, 7, 8], dtype=float)
    fit = fit_power_law(xs.tolist(), (2.0 * xs**0.29).tolist())
    assert fit["alpha"] == pytest.approx(2.0, rel=1e-4)
    assert fit["beta"] == pytest.approx(0.29, rel=1e-4)
    rng = np.random.default_rng(0)
    noisy = fit_power_law(xs.tolist(), (56.98 * xs**0.02 * (1 + 0.002 * rng.standard_normal(len(xs)))).tolist())
    assert abs(noisy["alpha"] - 56.98) < 4 * noisy["alpha_stderr"] + 0.5
    assert abs(noisy["beta"] - 0.02) < 4 * noisy["beta_stderr"] + 0.005
    assert noisy["beta_stderr"] > 0


def test_replicate_fits_find_the_single_fits_minimum() -> None:
    """The fit of every bootstrap replicate agrees with the single fit (both lmfit), NaN points left out."""
    rng = np.random.default_rng(2)
    xs = np.array([2, 3, 4, 5, 6, 7, 8], dtype=float)
    ys = 0.4 * xs[None, :] ** 0.15 * (1 + 0.1 * rng.standard_normal((20, 7)))
    ys[3, 2] = np.nan
    ys[5] = -ys[5]  # a falling, negative curve (an MTI can be): no log-log start, the same minimum
    alpha, beta = fit_power_law_rows(xs, ys)
    for row in (0, 3, 5, 7, 19):
        ok = np.isfinite(ys[row])
        reference = fit_power_law(xs[ok].tolist(), ys[row, ok].tolist())
        assert alpha[row] == pytest.approx(reference["alpha"], rel=1e-4)
        assert beta[row] == pytest.approx(reference["beta"], rel=1e-3, abs=1e-5)
    assert np.isnan(fit_power_law_rows(xs, np.full((1, 7), np.nan))[0]).all()
    single = np.full((1, 7), np.nan)
    single[0, 1] = 1.0
    assert np.isnan(fit_power_law_rows(xs, single)).all()  # one point: no curve


def test_fit_needs_two_points_and_a_curve() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        fit_power_law([2.0], [1.0])
    with pytest.raises(ValueError, match="every point is 0"):  # alpha 0: any beta fits
        fit_power_law([2.0, 3.0, 4.0], [0.0, 0.0, 0.0])
    assert np.isnan(fit_power_law_rows([2.0, 3.0], np.zeros((2, 2)))[1]).all()


def test_a_replicate_without_a_minimum_is_a_failed_fit() -> None:
    """0, 0, 1 at X = 2, 4, 8 is approached as beta runs off to infinity: no fit, not the last step."""
    alpha, beta = fit_power_law_rows([2.0, 4.0, 8.0], np.array([[0.0, 0.0, 1.0], [0.2, 0.3, 0.45]]))
    assert np.isnan(alpha[0]) and np.isnan(beta[0])
    assert beta[1] == pytest.approx(np.log2(1.5), abs=0.02)
    with pytest.raises(ValueError, match="no power law fits"):
        fit_power_law([2.0, 4.0, 8.0], [0.0, 0.0, 1.0])


def _rows(rows: list[tuple[str, str, bool, str]]) -> pl.DataFrame:
    """A score frame from (id, lang, correct, detected_lang) rows."""
    return pl.DataFrame(
        {
            "id": [r[0] for r in rows],
            "lang": [r[1] for r in rows],
            "sample": list(range(len(rows))),
            "response": ["r"] * len(rows),
            "extracted": ["1"] * len(rows),
            "correct": [r[2] for r in rows],
            "detected_lang": [r[3] for r in rows],
        }
    )


def test_accuracy_table_counts(tmp_path) -> None:
    init = tmp_path / "m" / "init" / "b.parquet"
    init.parent.mkdir(parents=True)
    _rows(
        [("q0", "en", True, "en"), ("q1", "en", False, "en"), ("q0", "ja", False, "en"), ("q1", "ja", True, "ja")]
    ).write_parquet(init)
    trained = _rows(
        [("q0", "en", True, "en"), ("q1", "en", True, "en"), ("q0", "ja", True, "und"), ("q1", "ja", True, "ja")]
    )
    table = analyse([("m", INIT, "b", init), ("m", grpo(2), "b", trained)], ORDER, replicates=100).accuracy
    assert set(table["seed"]) == {POOLED}  # one seed: only the pooled rows
    row = table.filter((pl.col("run") == "init") & (pl.col("lang") == "en")).row(0, named=True)
    assert row["accuracy"] == pytest.approx(0.5) and row["off_target_rate"] == 0 and row["n"] == 2
    assert row["n_problems"] == 2 and row["ci_low"] <= 0.5 <= row["ci_high"]
    ja = table.filter((pl.col("run") == "grpo-grow-x2") & (pl.col("lang") == "ja")).row(0, named=True)
    assert ja["accuracy"] == 1.0 and ja["off_target_rate"] == 0.5 and ja["n_languages"] == 2
    assert ja["lang_share"] == 0.5  # no lang_share column: whole-response label, share 1 or 0
    # a degenerate bootstrap (100%) falls back to Wilson over problems, not a zero-width interval
    assert ja["ci_high"] == 1.0 and 0.2 < ja["ci_low"] < 0.6


def test_off_target_uses_lang_share_when_scored() -> None:
    frame = _rows([("q0", "en", True, "en"), ("q1", "en", True, "en"), ("q2", "en", True, "en")])
    frame = frame.with_columns(pl.Series("lang_share", [0.9, 0.4, 0.6]))
    table = analyse([("m", INIT, "b", frame)], ORDER, replicates=100, on_target_share=0.5).accuracy
    assert table["off_target_rate"][0] == pytest.approx(1 / 3)
    assert table["lang_share"][0] == pytest.approx(1.9 / 3)


def _frames(values: dict[Run, dict[str, float]], n: int = 40, seed: int = 0) -> list[tuple]:
    """Score frames whose accuracies are exactly `values` (run -> lang -> accuracy), n problems."""
    out = []
    for run, per_lang in values.items():
        rows = [(f"q{i}", lang, i < round(acc * n), lang) for lang, acc in per_lang.items() for i in range(n)]
        out.append(("m", run, "b", _rows(rows)))
    return out


def test_mti_table_uses_subset_languages() -> None:
    files = _frames(
        {
            INIT: {"en": 0.5, "es": 0.2, "ru": 0.2, "ja": 0.1},
            grpo(2): {"en": 0.6, "es": 0.3, "ru": 0.3, "ja": 0.2},
        }
    )
    table = analyse(files, ORDER, replicates=200).mti
    # seen = en, es: gains 0.2, 0.5; unseen = ru, ja: gains 0.5, 1.0
    assert table["mti"][0] == pytest.approx(0.75 / 0.35)
    assert table["mti_ci_low"][0] < table["mti"][0] < table["mti_ci_high"][0]


def test_scaling_law_gap_and_leap_from_runs() -> None:
    values = {INIT: {"en": 0.1, "ja": 0.1}}
    for x in (2, 3, 4, 5):
        values[grpo(x)] = {"en": round(0.2 * x**0.5, 2), "ja": round(0.2 * x**0.5, 2)}
    values[grpo(1)] = {"en": 0.1, "ja": 0.1}  # observed X=1 below the law
    tables = analyse(_frames(values, n=100), ["ja", "ru", "de", "fr"], replicates=200)
    fits = scaling_law(tables.runs, tables.replicates, fit_min_x=2)
    curve = fits["accuracy"]
    assert curve["alpha"] == pytest.approx(0.2, rel=0.02) and curve["beta"] == pytest.approx(0.5, rel=0.03)
    assert curve["observed_x1"] == pytest.approx(0.1)
    assert curve["gap"] == pytest.approx(curve["alpha"] - 0.1)
    assert curve["first_parallel_leap"] == pytest.approx(0.28 - 0.1)
    for key in ("alpha_ci", "beta_ci", "gap_ci", "first_parallel_leap_ci"):
        low, high = curve[key]
        assert low <= curve[key.removesuffix("_ci")] <= high
    assert curve["distinguishable_from_zero"] == {"beta": True, "gap": True, "first_parallel_leap": True}
    assert [p["x"] for p in curve["loo"]["points"]] == [2, 3, 4, 5]
    assert fits["groups"][0]["model"] == "m" and fits["bootstrap_replicates"] == 200


# --------------------------------------------------------------------------------------------
# The bootstrap: pairing, nesting, seeds, coverage


def test_bootstrap_is_paired_across_models() -> None:
    """A trained model identical to the initial one on every problem gains exactly 0 in every
    replicate: only a resample shared by both models gives the interval [0, 0]."""
    rng = np.random.default_rng(3)
    same = score_frame({"en": 0.4, "es": 0.3, "ja": 0.2}, rng.random(60), 4, rng)
    tables = analyse([("m", INIT, "b", same), ("m", grpo(2), "b", same)], ORDER, replicates=200)
    gains = tables.gains
    assert (gains["gain"] == 0).all()
    assert (gains["gain_ci_low"] == 0).all() and (gains["gain_ci_high"] == 0).all()


def test_bootstrap_is_paired_across_languages() -> None:
    """Every language scored identically per problem (before and after): the unseen and seen
    gains agree in every replicate, so MTI is exactly 1 with the interval [1, 1]. Resampling
    problems separately per language would spread it."""
    rng = np.random.default_rng(4)
    difficulty = rng.random(80)
    before = score_frame({"en": 0.3}, difficulty, 2, rng)
    after = score_frame({"en": 0.6}, difficulty, 2, rng)

    def copies(frame: pl.DataFrame) -> pl.DataFrame:
        return pl.concat([frame.with_columns(pl.lit(lang).alias("lang")) for lang in ("en", "es", "ja", "te")])

    tables = analyse([("m", INIT, "b", copies(before)), ("m", grpo(2), "b", copies(after))], ORDER, replicates=200)
    row = tables.mti.row(0, named=True)
    assert row["mti"] == pytest.approx(1.0)
    assert row["mti_ci_low"] == pytest.approx(1.0) and row["mti_ci_high"] == pytest.approx(1.0)


def _coverage(cluster: float, n_samples: int, sims: int = 200) -> tuple[float, float]:
    """Share of simulations whose 95% accuracy interval covers the true accuracy, and mean width."""
    rng = np.random.default_rng(5)
    truth, covered, widths = 0.35, 0, []
    for _ in range(sims):
        frame = score_frame({"en": truth}, rng.random(60), n_samples, rng, cluster=cluster)
        row = analyse(
            [("m", INIT, "b", frame)], ORDER, replicates=200, bootstrap_seed=int(rng.integers(1 << 30))
        ).accuracy.row(0, named=True)
        covered += row["ci_low"] <= truth <= row["ci_high"]
        widths.append(row["ci_high"] - row["ci_low"])
    return covered / sims, float(np.mean(widths))


def test_accuracy_interval_nests_samples_in_problems() -> None:
    """Samples of a problem mostly agree (cluster 0.9): an interval that counted 8 samples per
    problem as 8 independent trials would be ~2.5x too narrow and cover far below 95%."""
    coverage, width = _coverage(cluster=0.9, n_samples=8)
    assert coverage >= 0.88, coverage
    # at least the spread of 60 problems' accuracies (c^2 p (1-p) per problem), which an interval
    # over 480 "independent" responses would miss
    assert width > 0.85 * 2 * 1.96 * math.sqrt(0.9**2 * 0.35 * 0.65 / 60)


def test_accuracy_interval_uses_every_sample() -> None:
    """Independent samples (cluster 0): 8 samples per problem carry 8x the information of one;
    an interval over problems that ignored how many samples each has would be far too wide."""
    coverage, width = _coverage(cluster=0.0, n_samples=8)
    assert 0.88 <= coverage <= 0.995, coverage
    assert width < 1.4 * 2 * 1.96 * math.sqrt(0.35 * 0.65 / (60 * 8))


def test_seeds_are_resampled() -> None:
    """Two seeds that disagree strongly: the pooled interval must show the seed-to-seed spread,
    which resampling problems alone (2,000 of them) would hide."""
    rng = np.random.default_rng(6)
    difficulty = rng.random(2000)
    files = [("m", INIT, "b", score_frame({"en": 0.2, "ja": 0.1}, difficulty, 1, rng))]
    for seed, acc in ((0, 0.3), (1, 0.7)):
        files.append(("m", grpo(1, seed), "b", score_frame({"en": acc, "ja": acc}, difficulty, 1, rng)))
    tables = analyse(files, ORDER, replicates=300)
    acc = tables.accuracy.filter((pl.col("run") == "grpo-grow-x1") & (pl.col("lang") == "en"))
    assert set(acc["seed"]) == {POOLED, "0", "1"}  # per seed and pooled
    pooled = acc.filter(pl.col("seed") == POOLED).row(0, named=True)
    assert pooled["accuracy"] == pytest.approx(0.5, abs=0.03)
    assert pooled["ci_low"] < 0.35 and pooled["ci_high"] > 0.65
    single = acc.filter(pl.col("seed") == "0").row(0, named=True)
    assert single["ci_high"] - single["ci_low"] < 0.08
    assert set(tables.mti["seed"]) == {POOLED, "0", "1"}


def test_fit_intervals_cover_the_true_law() -> None:
    """Accuracy follows 0.3 * X^0.2 exactly in the population of problems; the 95% bootstrap
    intervals of alpha and beta must cover it in >= 88% of 200 simulated studies."""
    alpha, beta, sims = 0.3, 0.2, 200
    rng = np.random.default_rng(7)
    hits = {"alpha": 0, "beta": 0}
    for _ in range(sims):
        difficulty = rng.random(150)  # one benchmark: the same problems for every model
        files = [("m", INIT, "b", score_frame({"en": 0.2}, difficulty, 2, rng, cluster=0.6))]
        for x in range(2, 9):
            acc = float(power_law(np.float64(x), alpha, beta))
            files.append(("m", grpo(x), "b", score_frame({"en": acc}, difficulty, 2, rng, cluster=0.6)))
        tables = analyse(files, ORDER, replicates=200, bootstrap_seed=int(rng.integers(1 << 30)))
        curve = scaling_law(tables.runs, tables.replicates, fit_min_x=2)["accuracy"]
        hits["alpha"] += curve["alpha_ci"][0] <= alpha <= curve["alpha_ci"][1]
        hits["beta"] += curve["beta_ci"][0] <= beta <= curve["beta_ci"][1]
    assert hits["alpha"] / sims >= 0.88, hits
    assert hits["beta"] / sims >= 0.88, hits


def test_leave_one_out_never_sees_the_left_out_point() -> None:
    """An outlier at X=5 cannot be predicted from the others: its error must be the full miss,
    and each prediction must equal the law fitted on the other points alone."""
    points = {2: 1.0, 3: 1.1, 4: 1.17, 5: 3.0, 6: 1.3}
    loo = leave_one_out(points, fit_min_x=2)
    by_x = {p["x"]: p for p in loo["points"]}
    rest = [x for x in points if x != 5]
    reference = fit_power_law(rest, [points[x] for x in rest])
    assert by_x[5]["predicted"] == pytest.approx(power_law(5.0, reference["alpha"], reference["beta"]), rel=1e-4)
    assert by_x[5]["error"] < -1.5
    assert loo["mean_abs_error"] == pytest.approx(np.mean([abs(p["error"]) for p in loo["points"]]))
    assert "error" in leave_one_out({2: 1.0, 3: 1.1}, fit_min_x=2)


def test_leave_one_out_gives_no_verdict_at_n_params_plus_one_points() -> None:
    """Three points for a two-parameter law: each left-out fit passes exactly through the other two,
    so the comparison with a flat line tests nothing."""
    loo = leave_one_out({2: 1.0, 3: 1.1, 4: 1.3}, fit_min_x=2)
    assert "points" not in loo and "no verdict" in loo["error"]
    assert "points" in leave_one_out({2: 1.0, 3: 1.1, 4: 1.3, 5: 1.35}, fit_min_x=2)


def test_a_damaged_score_file_is_named_with_the_command_that_redoes_it(tmp_path) -> None:
    from pscale.analysis import read_scores
    from pscale.errors import UserError

    truncated = tmp_path / "demo_test.parquet"
    truncated.write_bytes(b"PAR1 cut off by a kill")
    with pytest.raises(UserError, match=r"demo_test\.parquet cannot be read.*REDO="):
        read_scores(truncated)
    wrong = tmp_path / "old.parquet"
    pl.DataFrame({"id": ["a"], "lang": ["en"], "lang_share": [1.0]}).write_parquet(wrong)
    with pytest.raises(UserError, match=r"old\.parquet lacks column\(s\) \['correct'\]"):
        read_scores(wrong)


def test_runs_table_gets_how_long_each_run_trained() -> None:
    """runs.csv: steps, epochs and prompts seen per seed, their mean in the pooled row, null for init."""
    import polars as pl

    from pscale.analysis import with_training

    runs = pl.DataFrame(
        {
            "model": ["m"] * 4,
            "run": ["init", "grpo-grow-x2", "grpo-grow-x2", "grpo-grow-x2"],
            "seed": ["all", "all", "0", "1"],
        }
    )
    summaries = {
        ("m", grpo(2, 0)): {"steps": 10, "epochs": 2.0, "prompts_seen": 40},
        ("m", grpo(2, 1)): {"steps": 12, "epochs": 2.4, "prompts_seen": 48},
    }
    table = with_training(runs, summaries)
    assert table["steps"].to_list() == [None, 11.0, 10.0, 12.0]
    assert table["epochs"].to_list() == [None, 2.2, 2.0, 2.4]
    assert table["prompts_seen"].to_list()[1:] == [44.0, 40.0, 48.0]


def test_tables_take_each_runs_facts_from_run_facts(tmp_path, caplog) -> None:
    """`pscale tables`: the seed and X come from --run-facts, never from a name (an observational
    model called r1-s1 has no seed); a run that --run-facts does not describe is an error naming it."""
    from pscale.cli import main

    rng = np.random.default_rng(8)
    difficulty = rng.random(30)
    runs = [INIT, grpo(2, 5), grpo(2, 7), observational_run("r1-s1")]
    paths = []
    for run in runs:
        paths.append(tmp_path / run.name / "b.parquet")
        paths[-1].parent.mkdir()
        score_frame({"en": 0.3, "es": 0.2}, difficulty, 2, rng).write_parquet(paths[-1])
    out = {name: tmp_path / "tables" / f"{name}.csv" for name in ("accuracy", "mti", "gains", "runs")}

    def tables(facts: list) -> int:
        return main(
            ["tables", "--scores", *map(str, paths), "--labels", json.dumps([["m", r.name, "b"] for r in runs])]
            + ["--run-facts", facts_json(facts), "--options", json.dumps({"bootstrap_replicates": 50})]
            + [f"--{name}-out={path}" for name, path in out.items()]
            + [f"--replicates-out={tmp_path / 'tables' / 'bootstrap.parquet'}"]
        )

    assert tables(runs) == 0
    table = pl.read_csv(out["runs"], schema_overrides={"seed": pl.String})
    assert table.select("run", "method", "n_languages", "seed").rows() == [
        ("init", "none", 0, "all"),
        ("obs-r1-s1", "observational", 1, "all"),
        ("grpo-grow-x2", "grpo", 2, "5"),
        ("grpo-grow-x2", "grpo", 2, "7"),
        ("grpo-grow-x2", "grpo", 2, "all"),
    ]
    assert tables(runs[:3]) == 1
    assert "--labels: run 'obs-r1-s1' is not in --run-facts" in caplog.text
