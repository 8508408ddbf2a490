"""Persistent SQLite cache of every completion, and the state of Batch API jobs.

Every completion is committed the moment it arrives, keyed by (model, prompt version,
target language, SHA-256 of the source text) plus the attempt number, whether it passes
validation or not: a rerun, or a run resumed after `kill -9`, replays the stored attempts
(validation is deterministic) and sends requests only for work never completed. A new
model or prompt version is a new key, so it invalidates exactly its own entries.

Batch jobs are recorded before and after creation (input file id, then batch id), so a
restarted stage adopts its open batch instead of paying for a second one.

WAL journal with synchronous=NORMAL: a commit survives the process being killed (the OS
has the data), and costs microseconds, so the event loop is never stalled by the cache.
Keep the file on a filesystem with working locks (node-local or a parallel FS, not NFS
shared by several hosts); the default path has one file per dataset, so the one job per
dataset that Snakemake runs never contends with another.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pscale.errors import UserError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    lang TEXT NOT NULL,
    source_sha TEXT NOT NULL,
    output TEXT,
    finish_reason TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    mode TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (key, attempt)
);
CREATE TABLE IF NOT EXISTS prompts (
    version TEXT NOT NULL,
    lang TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (version, lang)
);
CREATE TABLE IF NOT EXISTS batches (
    input_file_id TEXT PRIMARY KEY,
    batch_id TEXT,
    tag TEXT NOT NULL,
    n_requests INTEGER NOT NULL,
    status TEXT NOT NULL,
    collected INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_requests (
    custom_id TEXT NOT NULL,
    input_file_id TEXT NOT NULL,
    key TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    lang TEXT NOT NULL,
    source_sha TEXT NOT NULL,
    PRIMARY KEY (custom_id, input_file_id)
);
"""


def text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_key(model: str, prompt_version: str, lang: str, source_sha: str) -> str:
    """The identity of one translation: what was asked, of which model, with which prompt."""
    return hashlib.sha256(json.dumps([model, prompt_version, lang, source_sha]).encode()).hexdigest()


@dataclass(frozen=True)
class Completion:
    attempt: int
    output: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    mode: str


@dataclass(frozen=True)
class BatchRequest:
    """One line of a Batch API input file, and the cache entry its result belongs to."""

    custom_id: str
    key: str
    attempt: int
    model: str
    prompt_version: str
    lang: str
    source_sha: str


class PromptChangedError(UserError):
    """The prompt text changed but its version did not: cached results would be served stale."""


class TranslationCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=60, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    # ---- prompts ---------------------------------------------------------------------
    def check_prompt(self, version: str, lang: str, fingerprint: str, prompt_path: str) -> None:
        """Records the prompt text behind `version`; refuses a different text under the same version."""
        row = self.db.execute("SELECT fingerprint FROM prompts WHERE version=? AND lang=?", (version, lang)).fetchone()
        if row is None:
            self.db.execute("INSERT INTO prompts VALUES (?, ?, ?)", (version, lang, fingerprint))
        elif row[0] != fingerprint:
            raise PromptChangedError(
                f"the text of prompt version '{version}' for '{lang}' in {prompt_path} differs from the one "
                f"cached in {self.path}: bump `version` in the prompt file (cached translations would be stale)"
            )

    # ---- completions -------------------------------------------------------------------
    def attempts(self, keys: list[str]) -> dict[str, list[Completion]]:
        """Stored completions of each key, in attempt order."""
        found: dict[str, list[Completion]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = self.db.execute(
                "SELECT key, attempt, output, finish_reason, prompt_tokens, completion_tokens, mode FROM completions "
                f"WHERE key IN ({','.join('?' * len(chunk))}) ORDER BY key, attempt",
                chunk,
            ).fetchall()
            for key, *rest in rows:
                found.setdefault(key, []).append(Completion(*rest))
        return found

    def put(
        self,
        key: str,
        completion: Completion,
        model: str,
        prompt_version: str,
        lang: str,
        source_sha: str,
    ) -> None:
        """Commits one completion at once (autocommit): a kill right after loses nothing."""
        self.db.execute(
            "INSERT OR IGNORE INTO completions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                completion.attempt,
                model,
                prompt_version,
                lang,
                source_sha,
                completion.output,
                completion.finish_reason,
                completion.prompt_tokens,
                completion.completion_tokens,
                completion.mode,
                time.time(),
            ),
        )

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    # ---- batches -----------------------------------------------------------------------
    def record_upload(self, input_file_id: str, tag: str, requests: list[BatchRequest]) -> None:
        """Before the batch is created: its input file and which (key, attempt) each custom_id is."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                "INSERT INTO batches (input_file_id, batch_id, tag, n_requests, status, created) "
                "VALUES (?, NULL, ?, ?, 'uploaded', ?)",
                (input_file_id, tag, len(requests), time.time()),
            )
            self.db.executemany(
                "INSERT OR REPLACE INTO batch_requests VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (r.custom_id, input_file_id, r.key, r.attempt, r.model, r.prompt_version, r.lang, r.source_sha)
                    for r in requests
                ],
            )

    def record_batch(self, input_file_id: str, batch_id: str, status: str) -> None:
        self.db.execute(
            "UPDATE batches SET batch_id=?, status=? WHERE input_file_id=?", (batch_id, status, input_file_id)
        )

    def mark_collected(self, input_file_id: str, status: str) -> None:
        self.db.execute("UPDATE batches SET collected=1, status=? WHERE input_file_id=?", (status, input_file_id))

    def open_batches(self) -> list[dict[str, Any]]:
        """Batches uploaded or created but not yet collected, oldest first."""
        rows = self.db.execute(
            "SELECT input_file_id, batch_id, tag, n_requests, status FROM batches WHERE collected=0 ORDER BY created"
        ).fetchall()
        return [dict(zip(("input_file_id", "batch_id", "tag", "n_requests", "status"), r, strict=True)) for r in rows]

    def batch_requests(self, input_file_id: str) -> dict[str, BatchRequest]:
        rows = self.db.execute(
            "SELECT custom_id, key, attempt, model, prompt_version, lang, source_sha FROM batch_requests "
            "WHERE input_file_id=?",
            (input_file_id,),
        ).fetchall()
        return {row[0]: BatchRequest(*row) for row in rows}
