"""Batch API mode: the same translations at half price, for runs that can wait (up to 24 h).

One round = one JSONL of requests (the next attempt of every pending text), uploaded,
turned into batches of at most `batch_max_requests`, polled, downloaded and joined back on
`custom_id`, then validated exactly like sync results. Texts that fail validation go into
the next round with the failure named in the prompt, up to `max_attempts`.

Restart safety: the input file id and each custom_id's cache entry are committed *before*
the batch is created, the batch id right after. custom_ids are deterministic (cache key +
attempt), so a restarted stage recognises the open batch that holds its pending requests
and polls it instead of creating a second one; if it was killed between upload and
creation, it looks the batch up by input file id (batches.list) before creating one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any, Protocol

from pscale.translate.api import ApiCaller, RetriesExhausted, TranslationError
from pscale.translate.cache import BatchRequest, Completion, TranslationCache
from pscale.translate.jobs import Job, Usage, completion_from, estimate_tokens
from pscale.translate.translator_prompt import TranslationPrompt

log = logging.getLogger(__name__)

ENDPOINT = "/v1/chat/completions"
TERMINAL = {"completed", "failed", "expired", "cancelled"}


class Backend(Protocol):
    """What the batch rounds use of the backend that runs them (openai_backend.OpenAIBackend)."""

    options: dict[str, Any]
    dataset: str
    model: str
    prompt: TranslationPrompt
    max_attempts: int
    cache_path: Path

    def messages(self, job: Job) -> list[dict[str, str]]: ...

    def store(
        self, job: Job, completion: Completion, cache: TranslationCache, usage: Usage, estimate: tuple[int, int]
    ) -> None: ...


def custom_id(job: Job) -> str:
    """Deterministic per (text, attempt): a restarted run computes the same ids."""
    return f"{job.key[:40]}-a{len(job.history)}"


async def run_batches(
    backend: Backend,
    pending: list[Job],
    cache: TranslationCache,
    client: Any,
    caller: ApiCaller,
    usage: Usage,
    bar: Any,
) -> None:
    jobs = {job.key: job for job in pending}
    max_rounds = backend.max_attempts + backend.options["max_retries"]
    rounds = 0
    while True:
        waiting = [job for job in jobs.values() if job.pending(backend.max_attempts)]
        _update_bar(bar, pending, backend.max_attempts)
        if not waiting:
            return
        wanted = {custom_id(job) for job in waiting}
        mine = [b for b in cache.open_batches() if wanted & set(cache.batch_requests(b["input_file_id"]))]
        if mine:
            for batch in mine:
                await _finish(backend, batch, cache, client, caller, usage, jobs, bar)
            continue
        rounds += 1
        if rounds > max_rounds:
            for job in waiting:
                job.error = f"still unanswered after {max_rounds} batch rounds"
            return
        size = backend.options["batch_max_requests"]
        for start in range(0, len(waiting), size):
            await _submit(backend, waiting[start : start + size], cache, client, caller, rounds)


async def _submit(
    backend: Backend, jobs: list[Job], cache: TranslationCache, client: Any, caller: ApiCaller, round_: int
) -> None:
    options = backend.options
    requests, lines = [], []
    for job in jobs:
        cid = custom_id(job)
        requests.append(
            BatchRequest(cid, job.key, len(job.history), backend.model, backend.prompt.version, job.lang, job.sha)
        )
        body = {
            "model": backend.model,
            "messages": backend.messages(job),
            "temperature": options["temperature"],
            "max_tokens": options["max_tokens"],
        }
        lines.append(
            json.dumps({"custom_id": cid, "method": "POST", "url": ENDPOINT, "body": body}, ensure_ascii=False)
        )
    tag = f"{backend.dataset}-r{round_}-{int(time.time())}"
    data = ("\n".join(lines) + "\n").encode("utf-8")
    # Kept next to the cache for inspection (what was sent, and paid for).
    jsonl = jsonl_path(backend.cache_path, tag)
    jsonl.parent.mkdir(parents=True, exist_ok=True)
    jsonl.write_bytes(data)

    async def upload() -> Any:
        return await client.files.create(file=(jsonl.name, data, "application/jsonl"), purpose="batch")

    uploaded = await _once(caller, upload, "batch input upload")
    cache.record_upload(uploaded.id, tag, requests)
    batch = await _ensure_batch(backend, uploaded.id, tag, cache, client, caller)
    log.info("submitted batch %s: %d requests (input file %s, written to %s)", batch.id, len(jobs), uploaded.id, jsonl)


async def _once(caller: ApiCaller, send: Any, what: str) -> Any:
    try:
        return await caller.call(send, what=what)
    except RetriesExhausted as err:
        raise TranslationError(f"Batch API: {err}; completed work is cached, rerun to resume") from None


async def _ensure_batch(
    backend: Backend, input_file_id: str, tag: str, cache: TranslationCache, client: Any, caller: ApiCaller
) -> Any:
    """The batch for `input_file_id`: the existing one if any (a restart or a retried create), else a new one."""

    async def find_or_create() -> Any:
        existing = await _find_batch(client, input_file_id)
        if existing is not None:
            return existing
        return await client.batches.create(
            input_file_id=input_file_id,
            endpoint=ENDPOINT,
            completion_window="24h",
            metadata={"pscale_dataset": backend.dataset[:500], "pscale_tag": tag[:500]},
        )

    batch = await _once(caller, find_or_create, "batch creation")
    cache.record_batch(input_file_id, batch.id, batch.status)
    return batch


async def _find_batch(client: Any, input_file_id: str) -> Any:
    page = await client.batches.list(limit=100)
    while True:
        for batch in page.data:
            if batch.input_file_id == input_file_id:
                return batch
        if not page.has_next_page():
            return None
        page = await page.get_next_page()


async def _finish(
    backend: Backend,
    record: dict[str, Any],
    cache: TranslationCache,
    client: Any,
    caller: ApiCaller,
    usage: Usage,
    jobs: dict[str, Job],
    bar: Any,
) -> None:
    """Polls one batch to a terminal state, then stores and validates its results."""
    batch_id = record["batch_id"]
    if batch_id is None:  # killed between upload and creation
        batch_id = (await _ensure_batch(backend, record["input_file_id"], record["tag"], cache, client, caller)).id
        log.info("adopted batch %s for input file %s", batch_id, record["input_file_id"])
    else:
        log.info("polling batch %s (%d requests)", batch_id, record["n_requests"])
    while True:

        async def retrieve(batch_id: str = batch_id) -> Any:
            return await client.batches.retrieve(batch_id)

        batch = await _once(caller, retrieve, f"batch {batch_id} status")
        cache.record_batch(record["input_file_id"], batch_id, batch.status)
        counts = batch.request_counts
        if counts is not None:
            bar.set_postfix(batch=batch.status, done=f"{counts.completed}/{counts.total}", refresh=True)
        if batch.status in TERMINAL:
            break
        await asyncio.sleep(backend.options["poll_interval"])
    if batch.status == "failed":
        cache.mark_collected(record["input_file_id"], batch.status)
        errors = "; ".join(e.message or "" for e in (batch.errors.data if batch.errors and batch.errors.data else []))
        raise TranslationError(f"Batch API: batch {batch_id} failed: {errors or 'no reason given'}")
    requests = cache.batch_requests(record["input_file_id"])
    for file_id in (batch.output_file_id, batch.error_file_id):
        if file_id:
            await _collect(backend, file_id, requests, cache, client, caller, usage, jobs)
    cache.mark_collected(record["input_file_id"], batch.status)
    if batch.status != "completed":
        log.warning("batch %s ended %s: unanswered requests go into the next round", batch_id, batch.status)


async def _collect(
    backend: Backend,
    file_id: str,
    requests: dict[str, BatchRequest],
    cache: TranslationCache,
    client: Any,
    caller: ApiCaller,
    usage: Usage,
    jobs: dict[str, Job],
) -> None:
    async def download() -> Any:
        return await client.files.content(file_id)

    content = await _once(caller, download, f"batch result file {file_id}")
    for line in content.text.splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        request = requests.get(record.get("custom_id"))
        if request is None:
            log.warning("batch result for unknown custom_id %s ignored", record.get("custom_id"))
            continue
        job = jobs.get(request.key)
        response = record.get("response") or {}
        if response.get("status_code") == 200:
            try:
                completion = completion_from(response.get("body") or {}, request.attempt, "batch")
            except ValueError:
                completion = None
            if completion is not None:
                if job is not None and len(job.history) == request.attempt:
                    estimate = estimate_tokens(backend.messages(job), job.text, job.lang)
                    backend.store(job, completion, cache, usage, estimate)
                elif job is None:
                    cache.put(
                        request.key,
                        completion,
                        request.model,
                        request.prompt_version,
                        request.lang,
                        request.source_sha,
                    )
                continue
        if job is not None:
            job.batch_failures += 1
            error = record.get("error") or (response.get("body") or {}).get("error") or {}
            message = error.get("message") if isinstance(error, dict) else str(error)
            log.warning("batch request %s failed: HTTP %s %s", request.custom_id, response.get("status_code"), message)
            if job.batch_failures > backend.options["max_retries"]:
                job.error = f"batch request failed {job.batch_failures} times: {message}"


def _update_bar(bar: Any, jobs: list[Job], max_attempts: int) -> None:
    done = sum(1 for job in jobs if not job.pending(max_attempts))
    bar.update(done - bar.n)


def jsonl_path(cache_path: Path, tag: str) -> Path:
    return cache_path.parent / "batches" / f"{tag}.jsonl"
