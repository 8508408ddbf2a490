"""The openai translation backend against a real local HTTP server (tests/fake_openai_server.py).

The real `openai` client and its HTTP stack send every request; the server injects the
faults a paid API produces. What is shown: every item ends translated or in the QC table
with the right reason; a rerun sends zero requests; a `kill -9` mid-stage and a resume
never repeat a completed request; a Batch API run survives a restart without a second
batch; the API key never appears in results or logs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fake_openai_server import FakeOpenAIServer, Fault

from pscale.config import validate_config
from pscale.translate.cache import TranslationCache
from pscale.translate.limiter import RateLimiter
from pscale.translate.options import RUNTIME_KEYS, merge_options, split_options
from pscale.translate.schema import QC_SCHEMA, TRANSLATED_COLUMNS
from pscale.translate.stage import translate_dataset
from pscale.translate.validate import ValidationSettings, check_translation, needs_translation

REPO = Path(__file__).resolve().parents[1]
PROMPT_FILE = "resources/translation/prompts-v1.yaml"
KEY = "sk-test-9f8e7d6c5b4a-SECRET"

QUESTIONS = [
    "A farmer has 12 boxes with 8 apples in each box. How many apples does the farmer have in total?",
    "Compute $\\frac{3}{4} + \\frac{1}{8}$ and write the result as a fraction in lowest terms inside \\boxed{}.",
    "A train travels 180 km in 2.5 hours. What is its average speed in km/h?",
    "Find all real numbers $x$ such that $x^2 - 5x + 6 = 0$. Put the final answer in \\boxed{}.",
    "The sum of two consecutive integers is 41. What is the larger of the two integers?",
    "A rectangle has a perimeter of 30 cm and a width of 6 cm. What is its area in square centimeters?",
    "How many positive divisors does the number 360 have? Give your answer as an integer.",
    "Let $f(x) = 2x + 3$. What is the value of $f(f(1))$? Write the answer in \\boxed{}.",
    "A shop sells pencils at 3 for 1.20 dollars. How much do 15 pencils cost in dollars?",
    "In a class of 28 students, 3/4 of them passed the exam. How many students passed?",
]
ANSWERS = ["96", "\\frac{7}{8}", "72", "2, 3", "21", "54", "24", "13", "6", "21"]
IDS = [f"q{i:02d}" for i in range(len(QUESTIONS))]


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    path = tmp_path / "source.parquet"
    pl.DataFrame({"id": IDS, "question": QUESTIONS, "answer": ANSWERS}).write_parquet(path)
    return path


@pytest.fixture()
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return KEY


def make_options(server: FakeOpenAIServer, tmp_path: Path, **openai: Any) -> dict[str, Any]:
    """A validated `translation` section for the test server: fast timeouts, tiny backoff."""
    runtime = {
        "cache": str(tmp_path / "cache" / "{dataset}.sqlite"),
        "timeout": 0.5,
        "backoff_base": 0.02,
        "backoff_max": 0.2,
        "rpm": 60000,
        "tpm": 1e8,
        "concurrency": 8,
        "poll_interval": 0.05,
        "progress": False,
    }
    content = {"backend": "openai", "openai": {"base_url": server.base_url}}
    for key, value in openai.items():
        (runtime if key in RUNTIME_KEYS else content["openai"])[key] = value
    return merge_options(content, runtime)


def run_stage(source: Path, out: Path, options: dict[str, Any], langs: list[str]) -> dict[str, Path]:
    outputs = {lang: out / "translated" / f"{lang}.parquet" for lang in langs}
    translate_dataset(source, outputs, "openai", options, "test", out / "qc.parquet", out / "usage.json")
    return outputs


def requests_for(server: FakeOpenAIServer, question: str, lang: str | None = None) -> list[dict[str, Any]]:
    sha = __import__("hashlib").sha256(question.encode()).hexdigest()[:16]
    return [e for e in server.chat_log() if e["source_sha"] == sha and (lang is None or e["lang"] == lang)]


def assert_no_key(*roots: Path) -> None:
    for root in roots:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for path in files:
            assert KEY.encode() not in path.read_bytes(), f"API key leaked into {path}"


# ---- faults: everything ends translated or in the QC table with the right reason ---------------


def test_faults_end_translated_or_in_qc_with_reason(source: Path, tmp_path: Path, api_key: str) -> None:
    q = QUESTIONS
    faults = [
        Fault("429", match=q[0], retry_after=0.3),
        Fault("500", match=q[1], times=2),
        Fault("slow", match=q[2], lang="es", delay=1.2),  # beyond the 0.5 s client timeout
        Fault("malformed", match=q[3], lang="es"),
        Fault("reset", match=q[3], lang="fr"),
        Fault("wrong_language", match=q[4], lang="es", times=None),
        Fault("drop_number", match=q[5], lang="fr", times=None),
        Fault("refusal", match=q[6], lang="ja", times=None),
        Fault("wrapper", match=q[7], lang="es", times=None),
        Fault("wrong_language", match=q[8], lang="ja", times=1),  # fixed by the retry with feedback
    ]
    langs = ["en", "es", "fr", "ja"]
    with FakeOpenAIServer(api_key=KEY, latency=0.01, faults=faults) as server:
        options = make_options(server, tmp_path, qc_policy="drop", drop_scope="language")
        outputs = run_stage(source, tmp_path / "out", options, langs)

        qc = pl.read_parquet(tmp_path / "out" / "qc.parquet")
        assert qc.schema == pl.Schema(QC_SCHEMA)
        failures = {(r["id"], r["lang"]): r["reason"] for r in qc.iter_rows(named=True)}
        assert failures == {
            ("q04", "es"): "language",
            ("q05", "fr"): "numbers",
            ("q06", "ja"): "refusal",
            ("q07", "es"): "wrapper",
        }
        assert set(qc["attempts"]) == {3} and set(qc["action"]) == {"dropped from this language"}
        assert qc.filter(pl.col("id") == "q05")["output"][0] is not None  # the rejected text is kept for review

        for lang, path in outputs.items():
            frame = pl.read_parquet(path)
            assert tuple(frame.columns) == TRANSLATED_COLUMNS
            expected = [i for i in IDS if (i, lang) not in failures]
            assert frame["id"].to_list() == expected, lang
            assert frame["answer"].to_list() == [ANSWERS[IDS.index(i)] for i in expected]  # never translated
            if lang != "en":
                for question, text in zip(frame["question"], [QUESTIONS[IDS.index(i)] for i in expected], strict=True):
                    # the fake translator keeps numbers in place: none was dropped or changed
                    assert question != text and re.findall(r"\d+", question) == re.findall(r"\d+", text)

        # 429: the retry waited for Retry-After (0.3 s) before going out again.
        limited = [e for e in requests_for(server, q[0]) if e["status"] == 429]
        assert len(limited) == 1
        retry = min((e for e in requests_for(server, q[0], limited[0]["lang"]) if e["t0"] > limited[0]["t0"]),
                    key=lambda e: e["t0"])  # fmt: skip
        assert retry["status"] == 200 and retry["t0"] - limited[0]["t1"] >= 0.25
        assert len(requests_for(server, q[1])) == 2 + 3  # two 500s, then one success per language
        assert len(requests_for(server, q[2], "es")) == 2  # timed out once, then answered
        assert len(requests_for(server, q[3], "es")) == 2 and len(requests_for(server, q[3], "fr")) == 2
        # The retry after a wrong-language answer names the failure in the prompt.
        retried = sorted(requests_for(server, q[8], "ja"), key=lambda e: e["t0"])
        assert [e["turns"] for e in retried] == [2, 4]
        assert "rejected: language" in retried[1]["messages"][-1]["content"]

        usage = json.loads((tmp_path / "out" / "usage.json").read_text())["runs"][-1]
        # Attempts seen by the client >= requests the server saw (a stale keep-alive connection fails
        # before reaching it); every completion the server answered was paid for and recorded once.
        assert usage["http_requests"] >= len(server.chat_log()) and usage["completions"] == len(server.completed())
        assert usage["texts_failed_qc"] == 4 and usage["cost_usd"] > 0 and usage["rate_limited"] == 1
    assert_no_key(tmp_path)


def test_qc_policy_fail_stops_and_names_reasons(source: Path, tmp_path: Path, api_key: str) -> None:
    faults = [Fault("refusal", match=QUESTIONS[6], times=None)]
    with FakeOpenAIServer(api_key=KEY, faults=faults) as server:
        options = make_options(server, tmp_path, max_attempts=2)
        with pytest.raises(ValueError, match=r"1 item/language pair\(s\) failed QC.*refusal 1.*qc_policy: drop"):
            run_stage(source, tmp_path / "out", options, ["en", "es"])
        qc = pl.read_parquet(tmp_path / "out" / "qc.parquet")
        assert qc.select("id", "reason", "attempts", "action").rows() == [
            ("q06", "refusal", 2, "stage failed (qc_policy: fail)")
        ]
        assert not (tmp_path / "out" / "translated").exists()  # nothing half-written


def test_drop_scope_all_languages_keeps_files_parallel(source: Path, tmp_path: Path, api_key: str) -> None:
    faults = [Fault("drop_number", match=QUESTIONS[2], lang="fr", times=None)]
    with FakeOpenAIServer(api_key=KEY, faults=faults) as server:
        outputs = run_stage(
            source, tmp_path / "out", make_options(server, tmp_path, qc_policy="drop"), ["en", "es", "fr"]
        )
    expected = [i for i in IDS if i != "q02"]
    for path in outputs.values():
        assert pl.read_parquet(path)["id"].to_list() == expected
    qc = pl.read_parquet(tmp_path / "out" / "qc.parquet")
    assert qc.select("id", "lang", "reason", "action").rows() == [
        ("q02", "fr", "numbers", "dropped from all languages")
    ]


# ---- the cache: reruns are free, new settings pay exactly for what they change ------------------


def test_rerun_sends_zero_requests_and_changes_pay_only_their_share(source: Path, tmp_path: Path, api_key: str) -> None:
    with FakeOpenAIServer(api_key=KEY) as server:
        options = make_options(server, tmp_path)
        first = run_stage(source, tmp_path / "a", options, ["en", "es", "fr"])
        assert len(server.chat_log()) == 20
        run_stage(source, tmp_path / "b", options, ["en", "es", "fr"])
        assert len(server.chat_log()) == 20  # rerun: zero requests
        for lang, path in first.items():
            assert pl.read_parquet(path).equals(pl.read_parquet(tmp_path / "b" / "translated" / f"{lang}.parquet"))
        usage = json.loads((tmp_path / "b" / "usage.json").read_text())["runs"][-1]
        assert usage["http_requests"] == 0 and usage["texts_cached"] == 20 and usage["cost_usd"] == 0

        run_stage(source, tmp_path / "c", options, ["en", "es", "fr", "de"])
        assert len(server.chat_log()) == 30  # a new language: only its 10 texts
        run_stage(source, tmp_path / "d", make_options(server, tmp_path, model="other-model"), ["en", "es"])
        assert len(server.chat_log()) == 40  # a new model: everything again

        prompt = tmp_path / "prompts-v2.yaml"
        text = (REPO / "resources" / "translation" / "prompts-v1.yaml").read_text()
        prompt.write_text(text.replace("version: v1", "version: v2"))
        run_stage(source, tmp_path / "e", make_options(server, tmp_path, prompt_file=str(prompt)), ["en", "es"])
        assert len(server.chat_log()) == 50  # a new prompt version: everything again
        run_stage(source, tmp_path / "f", options, ["en", "es", "fr", "de"])
        assert len(server.chat_log()) == 50  # the old entries are still there


def test_prompt_edit_without_version_bump_is_refused(source: Path, tmp_path: Path, api_key: str) -> None:
    prompt = tmp_path / "prompts.yaml"
    prompt.write_text((REPO / "resources" / "translation" / "prompts-v1.yaml").read_text())
    with FakeOpenAIServer(api_key=KEY) as server:
        options = make_options(server, tmp_path, prompt_file=str(prompt))
        run_stage(source, tmp_path / "a", options, ["en", "es"])
        prompt.write_text(prompt.read_text().replace("faithfully", "loosely"))
        with pytest.raises(ValueError, match="bump `version`"):
            run_stage(source, tmp_path / "b", options, ["en", "es"])
        assert len(server.chat_log()) == 10


def test_multiple_choice_options_translated_answer_never_sent(tmp_path: Path, api_key: str) -> None:
    path = tmp_path / "gpqa.parquet"
    pl.DataFrame(
        {
            "id": ["g1"],
            "question": ["Which organelle produces most of the ATP in a eukaryotic cell at 37 degrees?"],
            "answer": ["B"],
            "solution": ["The mitochondria produce ATP."],
            "choices": [["The nucleus of the cell", "The mitochondria of the cell", "42", "$2\\sqrt{3}$"]],
        }
    ).write_parquet(path)
    with FakeOpenAIServer(api_key=KEY) as server:
        outputs = run_stage(path, tmp_path / "out", make_options(server, tmp_path), ["en", "de"])
        sent = [e["messages"][1]["content"] for e in server.chat_log()]
    assert len(sent) == 3 and "B" not in sent and "42" not in sent  # question + 2 worded options
    german = pl.read_parquet(outputs["de"]).row(0, named=True)
    assert german["answer"] == "B" and german["solution"] is None  # solution not translated by default
    assert german["choices"][2:] == ["42", "$2\\sqrt{3}$"]  # no words: copied as is
    assert all(c not in german["choices"][:2] for c in ("The nucleus of the cell", "The mitochondria of the cell"))


# ---- stopping: missing key, fatal errors -----------------------------------------------------------


def test_missing_key_stops_before_any_request(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeOpenAIServer(api_key=KEY) as server:
        with pytest.raises(ValueError) as err:
            run_stage(source, tmp_path / "out", make_options(server, tmp_path), ["en", "es"])
        assert server.log == []
    message = str(err.value)
    assert "OPENAI_API_KEY" in message and "\n" not in message and message.count(". ") == 0


def test_401_stops_at_once_and_never_shows_the_key(
    source: Path, tmp_path: Path, api_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The server knows another key, and echoes the one it got in its 401 message.
    with FakeOpenAIServer(api_key="sk-the-right-key", latency=0.05) as server:
        options = make_options(server, tmp_path, concurrency=4)
        with pytest.raises(ValueError, match=r"HTTP 401.*OPENAI_API_KEY.*Incorrect API key provided: \*\*\*") as err:
            run_stage(source, tmp_path / "out", options, ["en", "es", "fr"])
        assert len(server.chat_log()) <= 4  # no retries, no further requests
    assert KEY not in str(err.value) and KEY not in caplog.text
    assert_no_key(tmp_path)


def test_400_stops_at_once_with_server_message(source: Path, tmp_path: Path, api_key: str) -> None:
    faults = [Fault("400", match=QUESTIONS[0], times=None)]
    with FakeOpenAIServer(api_key=KEY, latency=0.1, faults=faults) as server:
        options = make_options(server, tmp_path, concurrency=2)
        with pytest.raises(ValueError, match=r"HTTP 400.*rejected by the fake server"):
            run_stage(source, tmp_path / "out", options, ["en", "es", "fr"])
        assert len(server.chat_log()) <= 3


def test_persistent_5xx_fails_the_stage_after_retries_and_a_rerun_resumes(
    source: Path, tmp_path: Path, api_key: str
) -> None:
    faults = [Fault("500", match=QUESTIONS[0], lang="es", times=None)]
    with FakeOpenAIServer(api_key=KEY, faults=faults) as server:
        options = make_options(server, tmp_path, max_retries=2)
        with pytest.raises(ValueError, match=r"1 text\(s\) could not be translated.*HTTP 500.*rerun to resume"):
            run_stage(source, tmp_path / "out", options, ["en", "es", "fr"])
        assert len(requests_for(server, QUESTIONS[0], "es")) == 3  # the first try and 2 retries
        assert len(server.completed()) == 19  # everything else is done and cached
        server.faults.clear()
        run_stage(source, tmp_path / "out", options, ["en", "es", "fr"])
        assert len(server.completed()) == 20  # the rerun paid for the missing text only
    # usage.json keeps both runs: the failed one's spend is not overwritten by the rerun's
    usage = json.loads((tmp_path / "out" / "usage.json").read_text())
    failed, rerun = usage["runs"]
    assert failed["outcome"].startswith("failed: TranslationError") and rerun["outcome"] == "completed"
    assert failed["completions"] == 19 and failed["http_requests"] >= 22 and rerun["completions"] == 1
    assert usage["totals"]["completions"] == 20 and usage["totals"]["runs"] == 2
    assert usage["totals"]["http_requests"] == failed["http_requests"] + rerun["http_requests"]
    assert usage["totals"]["cost_usd"] == pytest.approx(failed["cost_usd"] + rerun["cost_usd"], abs=1e-6)
    assert rerun["cache_ledger"]["completions"] == 20


# ---- endpoints that cannot answer: stop fast, name base_url, record what was paid ------------------


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: connections are refused


@pytest.mark.parametrize(
    ("base_url", "kind"),
    [
        (f"http://127.0.0.1:{_closed_port()}/v1", "connection refused"),
        ("http://no-such-host.invalid/v1", "host not found"),
    ],
)
@pytest.mark.parametrize("concurrency", [1, 32])
def test_dead_endpoint_stops_within_seconds_naming_base_url(
    source: Path, tmp_path: Path, api_key: str, base_url: str, kind: str, concurrency: int
) -> None:
    # Default retry settings (backoff 1 s doubling, 5 retries): it used to retry every text in turn.
    options = merge_options(
        {"backend": "openai", "openai": {"base_url": base_url}},
        {"cache": str(tmp_path / "cache" / "{dataset}.sqlite"), "progress": False, "concurrency": concurrency},
    )
    start = time.monotonic()
    with pytest.raises(ValueError) as err:
        run_stage(source, tmp_path / "out", options, ["en", "es", "fr", "de"])
    assert time.monotonic() - start < 30
    message = str(err.value)
    assert base_url in message and kind in message and "base_url" in message and "\n" not in message
    usage = json.loads((tmp_path / "out" / "usage.json").read_text())
    run = usage["runs"][-1]
    assert run["outcome"].startswith("failed") and run["http_requests"] >= 4 and run["completions"] == 0
    assert not (tmp_path / "out" / "translated").exists()


def test_circuit_breaker_stops_a_run_failing_the_same_way(source: Path, tmp_path: Path, api_key: str) -> None:
    # The first 6 texts are answered, then every request fails with a 500: retrying text after text
    # would take max_retries x backoff each; the breaker stops after breaker_limit (30) in a row.
    many = tmp_path / "many.parquet"
    texts = [f"{QUESTIONS[i % 10]} ({'first' if i < 6 else 'later'} {i})" for i in range(60)]
    pl.DataFrame({"id": [f"m{i:03d}" for i in range(60)], "question": texts, "answer": ["1"] * 60}).write_parquet(many)
    with FakeOpenAIServer(api_key=KEY, faults=[Fault("500", match="(later", times=None)]) as server:
        options = make_options(server, tmp_path, concurrency=4, max_retries=3)
        with pytest.raises(
            ValueError,
            match=r"circuit breaker: the last 30 requests to .* all failed the same way "
            r"\(HTTP 500\)",
        ):
            run_stage(many, tmp_path / "out", options, ["en", "es", "fr"])
        sent = len(server.chat_log())
        assert sent < 6 + 30 + 8  # stopped right after the breaker limit, not after 114 texts x 4 attempts
        answered = len(server.completed())
    run = json.loads((tmp_path / "out" / "usage.json").read_text())["runs"][-1]
    assert run["completions"] == answered == 6 and run["http_requests"] >= sent and run["cost_usd"] > 0


def test_empty_source_question_stops_or_goes_to_qc(tmp_path: Path, api_key: str) -> None:
    bad = tmp_path / "bad.parquet"
    questions: list[str | None] = list(QUESTIONS)
    questions[3], questions[7] = None, "   "
    pl.DataFrame({"id": IDS, "question": questions, "answer": ANSWERS}).write_parquet(bad)
    with FakeOpenAIServer(api_key=KEY) as server:
        with pytest.raises(
            ValueError,
            match=r"bad.parquet: 2 item\(s\) have an empty or null question/answer, "
            r"first column 'question' at row 3 \(id 'q03'\)",
        ):
            run_stage(bad, tmp_path / "a", make_options(server, tmp_path), ["en", "es"])
        assert server.log == []  # stopped before paying for anything
        outputs = run_stage(bad, tmp_path / "b", make_options(server, tmp_path, qc_policy="drop"), ["en", "es"])
    for path in outputs.values():
        assert pl.read_parquet(path)["id"].to_list() == [i for i in IDS if i not in ("q03", "q07")]
    qc = pl.read_parquet(tmp_path / "b" / "qc.parquet")
    assert qc.select("id", "field", "reason", "action").rows() == [
        ("q03", "question", "empty_source", "dropped from all languages"),
        ("q07", "question", "empty_source", "dropped from all languages"),
    ]


# ---- kill -9 and resume, and the key in logs (a real `pscale translate` process) --------------------


def _cli(source: Path, out: Path, options: dict[str, Any], langs: str, log: Path) -> subprocess.Popen:
    content, runtime = split_options(options)
    # the CLI runs from a temporary folder: give it the shipped translator prompt by absolute path
    openai = content.get("openai", {})
    content = {**content, "openai": {**openai, "prompt_file": str(REPO / openai.get("prompt_file", PROMPT_FILE))}}
    command = [
        sys.executable, "-m", "pscale.cli", "translate", "-v",
        "--source", str(source), "--dataset", "test", "--out-dir", str(out / "translated"), "--languages", langs,
        "--qc-out", str(out / "qc.parquet"), "--usage-out", str(out / "usage.json"),
        "--options", json.dumps(content), "--runtime-options", json.dumps(runtime),
    ]  # fmt: skip
    env = {**os.environ, "OPENAI_API_KEY": KEY}
    return subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env, cwd=out.parent)


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _query(path: Path, sql: str) -> int:
    """A count from the stage's cache while it runs (0 until the file and its tables exist)."""
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path) as db:
            return db.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _cached(path: Path) -> int:
    return _query(path, "SELECT COUNT(*) FROM completions")


def test_kill9_and_resume_never_repeat_a_completed_request(source: Path, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "translate.log"
    log.parent.mkdir()
    out = tmp_path / "results"
    with FakeOpenAIServer(api_key=KEY, latency=0.05) as server:
        options = make_options(server, tmp_path, concurrency=4)
        cache = tmp_path / "cache" / "test.sqlite"
        server.hold_after(12)  # then every further request hangs: in flight when the process dies
        process = _cli(source, out, options, "en,es,fr,ja", log)
        try:
            _wait(lambda: server.held() >= 1, 30, "requests in flight")
            # Requests past the hold check finish answering; all later ones hang.
            _wait(lambda: all("t1" in e or e.get("status") == "held" for e in server.chat_log()), 5, "answers")
            done = len(server.completed())
            _wait(lambda: _cached(cache) >= done, 5, "completions to be cached")
            process.send_signal(signal.SIGKILL)
            assert process.wait(10) == -signal.SIGKILL
        finally:
            process.kill()
        server.release()
        assert 12 <= _cached(cache) < 30 and not (out / "translated").exists()

        assert _cli(source, out, options, "en,es,fr,ja", log).wait(60) == 0, log.read_text()
        completed = Counter(e["messages_sha"] for e in server.completed())
        assert len(completed) == 30 and max(completed.values()) == 1  # every text paid for exactly once
        assert any(e["status"] == "aborted" for e in server.chat_log())  # some were in flight at the kill
        for lang in ("en", "es", "fr", "ja"):
            assert pl.read_parquet(out / "translated" / f"{lang}.parquet")["id"].to_list() == IDS

        rerun = len(server.chat_log())
        assert _cli(source, out, options, "en,es,fr,ja", log).wait(60) == 0
        assert len(server.chat_log()) == rerun  # a rerun sends zero requests
    text = log.read_text()
    assert "HTTP Request: POST" in text or "chat/completions" in text  # verbose logs were really written
    assert_no_key(out, log, tmp_path / "cache")


# ---- Batch API ----------------------------------------------------------------------------------------


def test_batch_mode_retries_failures_in_a_new_round(source: Path, tmp_path: Path, api_key: str) -> None:
    faults = [Fault("wrong_language", match=QUESTIONS[3], lang="es", times=1)]
    with FakeOpenAIServer(api_key=KEY, faults=faults, batch_delay=0.1) as server:
        options = make_options(server, tmp_path, mode="batch")
        outputs = run_stage(source, tmp_path / "out", options, ["en", "es", "fr"])
        batches = list(server.batches.values())
        assert [b.counts["total"] for b in batches] == [20, 1]  # the rejected text alone in round 2
        assert [e["kind"] for e in server.log].count("chat") == 21  # no sync request at all
    assert pl.read_parquet(outputs["es"])["id"].to_list() == IDS
    usage = json.loads((tmp_path / "out" / "usage.json").read_text())["runs"][-1]
    sync_price = (usage["prompt_tokens"] * 0.15 + usage["completion_tokens"] * 0.60) / 1e6
    assert usage["mode"] == "batch" and usage["cost_usd"] == pytest.approx(sync_price / 2, rel=1e-3)
    assert (tmp_path / "cache" / "batches").is_dir()  # the JSONL that was uploaded is kept


def test_batch_mode_survives_kill_mid_batch(source: Path, tmp_path: Path) -> None:
    log = tmp_path / "batch.log"
    out = tmp_path / "results"
    with FakeOpenAIServer(api_key=KEY) as server:
        server.batch_gate.clear()  # the batch stays in progress until the test opens the gate
        options = make_options(server, tmp_path, mode="batch")
        cache = tmp_path / "cache" / "test.sqlite"

        def recorded() -> bool:
            return _query(cache, "SELECT COUNT(*) FROM batches WHERE batch_id IS NOT NULL") == 1

        process = _cli(source, out, options, "en,es,ja", log)
        try:
            _wait(recorded, 30, "the batch id to be persisted")
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        finally:
            process.kill()
        server.batch_gate.set()
        assert _cli(source, out, options, "en,es,ja", log).wait(60) == 0, log.read_text()
        assert len(server.batches) == 1  # adopted, not created again
        assert len(server.completed()) == 20
    assert pl.read_parquet(out / "translated" / "ja.parquet")["id"].to_list() == IDS
    assert_no_key(out, log)


def test_batch_killed_between_create_and_record_is_adopted(
    source: Path, tmp_path: Path, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Killed(BaseException):
        pass

    def die(*args: Any) -> None:
        raise Killed

    with FakeOpenAIServer(api_key=KEY) as server:
        options = make_options(server, tmp_path, mode="batch")
        with monkeypatch.context() as patch:
            patch.setattr(TranslationCache, "record_batch", die)  # dies right after batches.create
            with pytest.raises(Killed):
                run_stage(source, tmp_path / "out", options, ["en", "es"])
        assert len(server.batches) == 1
        run_stage(source, tmp_path / "out", options, ["en", "es"])
        assert len(server.batches) == 1 and len(server.completed()) == 10


# ---- estimate, options, validation, limiter, benchmark ------------------------------------------------


def test_estimate_prints_only_the_estimate(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pscale.cli import main

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # no key needed to estimate
    with FakeOpenAIServer(api_key=KEY) as server:
        content, runtime = split_options(make_options(server, tmp_path))
        argv = ["translate", "--estimate", "--source", str(source), "--dataset", "test", "--languages", "en,es,ja"]
        assert main([*argv, "--options", json.dumps(content), "--runtime-options", json.dumps(runtime)]) == 0
        assert server.log == []
    printed = capsys.readouterr().out
    assert "to request: 20" in printed and "requests: 20" in printed
    found = re.search(r"estimated tokens: ([\d,]+) input, ([\d,]+) output", printed)
    assert found and int(found.group(1).replace(",", "")) > 20 * 150
    assert re.search(r"estimated cost: \$0\.\d{4}", printed) and "batch $" in printed


def test_only_content_options_are_rerun_triggers() -> None:
    base = validate_config({"translation": {"backend": "openai"}})["translation"]
    faster = validate_config({"translation": {"backend": "openai", "openai": {"rpm": 9000, "concurrency": 200}}})
    other = validate_config({"translation": {"backend": "openai", "openai": {"model": "gpt-4o"}}})
    assert split_options(base)[0] == split_options(faster["translation"])[0]
    assert split_options(base)[0] != split_options(other["translation"])[0]
    assert split_options(faster["translation"])[1]["rpm"] == 9000
    content, runtime = split_options(base)
    assert merge_options(content, runtime) == base
    reference = validate_config({})["translation"]
    assert "openai" not in split_options(reference)[0]  # the demo never reruns for openai settings


@pytest.mark.parametrize(
    ("output", "code"),
    [
        ("Un tren recorre 1.000 km en 2,5 horas y 3 minutos. ¿Cuál es su velocidad media?", None),
        ("Un tren recorre 1 000 km en 2,5 horas y ৩ minutos. ¿Cuál es su velocidad media?", None),
        ("Un tren recorre km en 2,5 horas y 3 minutos. ¿Cuál es su velocidad media?", "numbers"),
        ("A train travels 1,000 km in 2.5 hours and 3 minutes. What is its average speed?", "language"),
        ("Here is the translation: Un tren recorre 1.000 km en 2,5 horas y 3 minutos.", "wrapper"),
        ("Lo siento, I'm sorry, but I can't help with that 1000 2.5 3.", "refusal"),
        ("Un tren recorre 1.000 km en 2,5 horas y 3 minutos.", "length"),
        ("", "empty"),
    ],
)
def test_validation_reasons(output: str, code: str | None) -> None:
    source = "A train travels 1,000 km in 2.5 hours and 3 minutes. What is its average speed in km per hour, roughly?"
    settings = ValidationSettings.from_config({"length_ratio_min": 0.6})
    reason = check_translation(source, output, "es", settings)
    assert (reason.split(":")[0] if reason else None) == code, reason


def test_validation_latex_and_truncation() -> None:
    source = "Compute $\\frac{3}{4} + \\frac{1}{8}$ and write the result inside \\boxed{} please."
    ok = "Calcula $\\frac{3}{4} + \\frac{1}{8}$ y escribe el resultado dentro de \\boxed{} por favor."
    settings = ValidationSettings.from_config()
    assert check_translation(source, ok, "es", settings) is None
    assert check_translation(source, ok.replace("\\boxed{}", "un recuadro"), "es", settings).startswith("latex")
    assert check_translation(source, ok, "es", settings, finish_reason="length").startswith("truncated")
    assert not needs_translation("$2\\sqrt{3}$") and not needs_translation("42") and needs_translation("pH 7 or less")


def test_limiter_holds_the_rate_and_pauses() -> None:
    import asyncio

    async def burst(limiter: RateLimiter, n: int, tokens: float) -> float:
        start = time.monotonic()
        for _ in range(n):
            await limiter.acquire(tokens)
        return time.monotonic() - start

    assert 0.45 <= asyncio.run(burst(RateLimiter(rpm=6000, tpm=1e9), 51, 1)) <= 0.8  # 100/s
    # 2000 tokens/s: the first second's budget is there at once, the rest flows at the rate.
    assert 0.45 <= asyncio.run(burst(RateLimiter(rpm=1e6, tpm=120000), 61, 50)) <= 0.8

    async def paused() -> float:
        limiter = RateLimiter(rpm=60000, tpm=1e9)
        limiter.pause(0.3)
        return await burst(limiter, 1, 1)

    assert asyncio.run(paused()) >= 0.28


def test_benchmark_runs_at_tiny_size(tmp_path: Path) -> None:
    """The benchmark runs and reports; its speed-up is the benchmark's claim, not a test's (it
    depends on the machine's load). The rate limit holding is a property, checked here."""
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "translate_throughput.py"), "--items", "30", "--langs", "es,fr,ja",
         "--sequential", "4", "--latency", "0.05", "--rpm", "3000", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    last = result.stdout.strip().splitlines()[-1]
    found = re.fullmatch(r"speedup_vs_sequential=([\d.]+) rate_limit_utilization=([\d.]+)", last)
    assert found and float(found.group(1)) > 0 and 0 < float(found.group(2)) <= 1.05, last
