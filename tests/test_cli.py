"""`pscale <stage>`: every stage runs by hand, with help and clear errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from pscale.cli import build_parser, main

STAGES = [
    "demo-data",
    "source",
    "translate",
    "parallel-set",
    "init-model",
    "train",
    "generate",
    "check-prompts",
    "score",
    "tables",
    "fit",
    "figures",
    "plan",
]


def test_help_lists_every_stage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert all(stage in out for stage in STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_has_help(stage: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([stage, "--help"])
    assert exit_info.value.code == 0
    assert "--config" in capsys.readouterr().out


def test_stage_runs_by_hand(tmp_path: Path) -> None:
    assert (
        main(
            [
                "demo-data",
                "--source-dir",
                str(tmp_path / "src"),
                "--reference-dir",
                str(tmp_path / "ref"),
                "--n-train",
                "12",
                "--n-test",
                "3",
                "--seed",
                "0",
            ]
        )
        == 0
    )
    source = pl.read_parquet(tmp_path / "src" / "demo_train.parquet")
    assert source.height == 12 and "lang" not in source.columns
    assert pl.read_parquet(tmp_path / "ref" / "demo_test.parquet")["lang"].n_unique() == 11


def test_flags_left_out_take_the_configs_values(tmp_path: Path) -> None:
    """A flag that stands for a config key defaults to --config's value, never to a second default."""
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"data": {"seed": 3, "demo": {"n_train": 5, "n_test": 2}}}))
    out = tmp_path / "a"
    assert (
        main(
            [
                "demo-data",
                "--source-dir",
                str(out / "src"),
                "--reference-dir",
                str(out / "ref"),
                "--config",
                str(config),
            ]
        )
        == 0
    )
    assert pl.read_parquet(out / "src" / "demo_train.parquet").height == 5
    assert pl.read_parquet(out / "src" / "demo_test.parquet").height == 2
    same = tmp_path / "b"
    assert (
        main(
            [
                "demo-data",
                "--source-dir",
                str(same / "src"),
                "--reference-dir",
                str(same / "ref"),
                "--n-train",
                "5",
                "--n-test",
                "2",
                "--seed",
                "3",
            ]
        )
        == 0
    )
    corpus = [pl.read_parquet(folder / "ref" / "demo_train.parquet") for folder in (out, same)]
    assert corpus[0].equals(corpus[1])


def test_options_are_validated_and_completed_from_the_schema(tmp_path: Path, caplog) -> None:
    """--options by hand: a typo is one clear error; keys left out take the schema's defaults."""
    args = ["score", "--generations", "x.parquet", "--output", str(tmp_path / "o.parquet"), "--languages", "en"]
    assert main([*args, "--options", '{"min_letter": 3}']) == 1
    assert "min_letter" in caplog.text and "min_letters" in caplog.text and "Traceback" not in caplog.text
    assert main([*args, "--options", "[1]"]) == 1 and "JSON object" in caplog.text


def test_rules_pass_every_file_explicitly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The forms the rules use: each file named with what it is, nothing derived from a path."""
    source, reference = tmp_path / "a" / "s.parquet", tmp_path / "b" / "r.parquet"
    assert (
        main(
            [
                "demo-data",
                "--datasets",
                "demo_test",
                "--source",
                str(source),
                "--reference",
                str(reference),
                "--n-train",
                "4",
                "--n-test",
                "3",
                "--seed",
                "0",
            ]
        )
        == 0
    )
    outputs = [tmp_path / "t" / f"{name}.parquet" for name in ("first", "second")]
    base = [
        "translate",
        "--source",
        str(source),
        "--dataset",
        "demo_test",
        "--reference-corpus",
        str(reference),
        "--languages",
        "en,ja",
        "--options",
        '{"backend": "reference"}',
    ]
    assert main([*base, "--output", *map(str, outputs)]) == 1  # no --qc-out, --usage-out
    assert "--qc-out, --usage-out required" in caplog.text
    assert (
        main(
            [
                *base,
                "--output",
                *map(str, outputs),
                "--qc-out",
                str(tmp_path / "qc.parquet"),
                "--usage-out",
                str(tmp_path / "usage.json"),
            ]
        )
        == 0
    )
    assert [pl.read_parquet(path)["lang"].unique().to_list() for path in outputs] == [["en"], ["ja"]]
    # the set's languages come from the files' `lang` column, whatever the files are called
    assert (
        main(
            [
                "parallel-set",
                "--translated",
                *map(str, outputs),
                "--x",
                "2",
                "--parallel-order",
                "ja",
                "--seed",
                "0",
                "--output",
                str(tmp_path / "set.parquet"),
            ]
        )
        == 0
    )
    assert set(pl.read_parquet(tmp_path / "set.parquet")["lang"]) == {"en", "ja"}


def test_bad_config_is_one_clear_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"scoring": {"min_letters": 0}}))
    code = main(
        ["score", "--generations", "x.parquet", "--output", str(tmp_path / "o.parquet"), "--config", str(config)]
    )
    assert code == 1
    assert "scoring.min_letters" in caplog.text and "Traceback" not in caplog.text


def test_only_user_errors_are_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bad input is a UserError (one line); any other exception is a bug and keeps its traceback."""
    args = ["score", "--generations", "x.parquet", "--output", str(tmp_path / "o.parquet"), "--languages", "en"]
    assert main([*args, "--options", "{not json"]) == 1 and "not JSON" in caplog.text
    assert main([*args, "--options", f"@{tmp_path / 'missing.json'}"]) == 1
    assert "Traceback" not in caplog.text

    def bug(*_, **__):
        return {}["a key the code forgot"]

    monkeypatch.setattr("pscale.score.score_generations", bug)
    with pytest.raises(KeyError):
        main([*args, "--options", "{}"])


def test_parallel_set_names_missing_language(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    en = tmp_path / "en.parquet"
    frame = pl.DataFrame({"id": ["a"], "lang": ["en"], "question": ["q"], "answer": ["1"], "solution": [None]})
    frame.write_parquet(en)
    code = main(
        [
            "parallel-set",
            "--translated",
            str(en),
            "--x",
            "2",
            "--parallel-order",
            "es,de",
            "--output",
            str(tmp_path / "set.parquet"),
        ]
    )
    assert code == 1 and "['es']" in caplog.text


@pytest.mark.parametrize("stage", ["train", "generate"])
def test_gpu_job_without_a_usable_gpu_stops_at_once(stage: str, tmp_path: Path, caplog) -> None:
    """The scheduler gave GPUs that torch cannot use (old driver, hidden devices): one line, no CPU fallback."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is usable here")
    args = {
        "train": ["--train-set", "missing.parquet", "--work-dir", str(tmp_path / "w")],
        "generate": ["--benchmark-dir", str(tmp_path)],
    }[stage]
    code = main(
        [
            stage,
            "--model",
            "missing-model",
            "--output",
            str(tmp_path / "out"),
            "--gpus",
            "4",
            "--prompts",
            "resources/prompts.yaml",
            *args,
        ]
    )
    assert code == 1
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "given 4 GPU(s)" in errors[0] and "can use 0" in errors[0]
    assert "\n" not in errors[0] and not (tmp_path / "out").exists()
