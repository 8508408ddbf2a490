"""The `openai` backend: translation with GPT-4o-mini (or any OpenAI-compatible server).

What it guarantees (see README "Translation with the OpenAI API"):

* never re-pays: every completion is committed to a SQLite cache (cache.py) as it arrives;
  reruns and runs resumed after `kill -9` replay it and request only what is missing;
* never silently corrupts: every translation is validated (validate.py); a failure is sent
  back to the model with the reason, up to `max_attempts`; what still fails goes to the QC
  table with its reason, and `qc_policy` decides whether the stage fails or drops it;
* saturates the rate limit: `concurrency` workers share one RPM/TPM limiter (limiter.py),
  with Retry-After-aware retries (api.py); or the Batch API at half price (batch.py).

Work unit: one distinct (target language, source text). Every text field of an item is
translated -- the question, each option of a multiple-choice item, the solution when
`translate_solution` -- never the gold answer. Texts without words ("42", "$\\sqrt{2}$") are
copied as they are, and identical texts are translated once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pscale.translate.api import ApiCaller, RetriesExhausted, TranslationError, redacted_logging
from pscale.translate.batch import run_batches
from pscale.translate.cache import Completion, TranslationCache, cache_key, text_sha
from pscale.translate.jobs import Job, Unit, Usage, completion_from, cost_usd, estimate_tokens
from pscale.translate.limiter import RateLimiter
from pscale.translate.schema import QC_SCHEMA, empty_qc
from pscale.translate.translator_prompt import TranslationPrompt, load_prompt
from pscale.translate.validate import ValidationSettings, needs_translation, reason_code

log = logging.getLogger(__name__)

__all__ = ["OpenAIBackend", "TranslationError"]


@dataclass
class Plan:
    """What a run has to do: every unit and job, the pending ones, and the estimate of their cost."""

    units: list[Unit]
    jobs: dict[tuple[str, str], Job]
    pending: list[Job]
    estimate: dict[str, Any]
    lines: list[str]  # the estimate, in words


class OpenAIBackend:
    """Implements the stage's backend interface; after `translate`, `qc` and `usage` describe the run."""

    def __init__(self, options: dict[str, Any], dataset: str) -> None:
        """`options`: the validated `translation.openai` section (pscale.translate.options.merge_options)."""
        self.options = options
        self.dataset = dataset
        self.model: str = self.options["model"]
        self.prompt: TranslationPrompt = load_prompt(self.options["prompt_file"])
        self.settings = ValidationSettings.from_config(self.options["validation"])
        self.max_attempts: int = self.options["max_attempts"]
        self.batch = self.options["mode"] == "batch"
        self.cache_path = Path(self.options["cache"].format(dataset=dataset))
        self.qc: pl.DataFrame = empty_qc()
        self.usage: dict[str, Any] = {}

    # ---- planning -------------------------------------------------------------------------
    def units(self, source: pl.DataFrame) -> list[Unit]:
        """Every text field to translate, in item order (never `answer`)."""
        units = []
        has_solution = self.options["translate_solution"] and "solution" in source.columns
        for row in source.iter_rows(named=True):
            units.append(Unit(row["id"], "question", None, row["question"]))
            if has_solution and row["solution"] is not None:
                units.append(Unit(row["id"], "solution", None, row["solution"]))
            for index, option in enumerate(row.get("choices") or []):
                units.append(Unit(row["id"], "choices", index, option))
        return units

    def jobs(self, units: list[Unit], target_langs: list[str]) -> dict[tuple[str, str], Job]:
        jobs: dict[tuple[str, str], Job] = {}
        for lang in target_langs:
            self.prompt.language_name(lang)  # fails early, naming the language, if the prompt lacks it
            for unit in units:
                if needs_translation(unit.text):
                    sha = text_sha(unit.text)
                    if (lang, sha) not in jobs:
                        key = cache_key(self.model, self.prompt.version, lang, sha)
                        jobs[(lang, sha)] = Job(lang, unit.text, sha, key)
        return jobs

    def replay(self, jobs: list[Job], cache: TranslationCache) -> None:
        """Re-validates every cached attempt: cached work is never requested again."""
        stored = cache.attempts([job.key for job in jobs])
        for job in jobs:
            job.history.clear()
            for completion in stored.get(job.key, []):
                if job.result is not None or len(job.history) >= self.max_attempts:
                    break
                job.add(completion, self.settings)

    def messages(self, job: Job) -> list[dict[str, str]]:
        return self.prompt.messages(job.lang, job.text, job.rejections())

    def estimate(self, jobs: list[Job]) -> dict[str, Any]:
        """Requests, tokens and dollars for the next attempt of each job (retries not included)."""
        tokens = [estimate_tokens(self.messages(job), job.text, job.lang) for job in jobs]
        prompt_tokens = sum(t[0] for t in tokens)
        completion_tokens = sum(t[1] for t in tokens)
        prices = self.options["prices"]
        return {
            "requests": len(jobs),
            "input_tokens": prompt_tokens,
            "output_tokens": completion_tokens,
            "cost_usd": cost_usd(prompt_tokens, completion_tokens, prices, self.batch),
            "cost_usd_sync": cost_usd(prompt_tokens, completion_tokens, prices, False),
            "cost_usd_batch": cost_usd(prompt_tokens, completion_tokens, prices, True),
        }

    def estimate_lines(self, n_jobs: int, n_cached: int, n_copied: int, estimate: dict[str, Any]) -> list[str]:
        prices = self.options["prices"]
        mode = "batch" if self.batch else "sync"
        return [
            f"translation of {self.dataset} with {self.model} (prompt {self.prompt.version}, {mode} mode):",
            f"  texts: {n_jobs + n_copied} ({n_copied} without words copied as is), "
            f"already done (cached): {n_cached}, to request: {estimate['requests']}",
            f"  requests: {estimate['requests']} (+ up to {self.max_attempts - 1} retries each for texts failing QC)",
            f"  estimated tokens: {estimate['input_tokens']:,} input, {estimate['output_tokens']:,} output "
            "(heuristic, +-30%)",
            f"  estimated cost: ${estimate['cost_usd']:.4f} at ${prices['input_per_1m']}/${prices['output_per_1m']} "
            f"per 1M tokens{' x ' + str(prices['batch_discount']) + ' (batch)' if self.batch else ''} "
            f"[sync ${estimate['cost_usd_sync']:.4f}, batch ${estimate['cost_usd_batch']:.4f}]",
        ]

    def plan(self, source: pl.DataFrame, target_langs: list[str], cache: TranslationCache | None) -> Plan:
        """Every text to translate, what the cache already holds (when given), and the estimate of the rest."""
        units = self.units(source)
        jobs = self.jobs(units, target_langs)
        if cache is not None:
            self.replay(list(jobs.values()), cache)
        pending = [job for job in jobs.values() if job.pending(self.max_attempts)]
        copied = sum(1 for u in units if not needs_translation(u.text)) * len(target_langs)
        estimate = self.estimate(pending)
        lines = self.estimate_lines(len(jobs), len(jobs) - len(pending), copied, estimate)
        return Plan(units, jobs, pending, estimate, lines)

    def dry_run(self, source: pl.DataFrame, target_langs: list[str]) -> Plan:
        """The plan without sending anything (`pscale translate --estimate`); the cache is read if it exists."""
        if not self.cache_path.exists():
            return self.plan(source, target_langs, None)
        with closing(TranslationCache(self.cache_path)) as cache:
            return self.plan(source, target_langs, cache)

    def api_key(self) -> str:
        name = self.options["api_key_env"]
        key = os.environ.get(name, "").strip()
        if not key:
            raise TranslationError(
                f"the environment variable {name} holding the API key is not set, so no translation request "
                f"was sent: export it (or name another variable in translation.openai.api_key_env)."
            )
        return key

    # ---- the stage ----------------------------------------------------------------------------
    def translate(self, source: pl.DataFrame, target_langs: list[str]) -> dict[str, pl.DataFrame]:
        with closing(TranslationCache(self.cache_path)) as cache:
            for lang in target_langs:
                cache.check_prompt(self.prompt.version, lang, self.prompt.fingerprint(lang), self.prompt.path)
            plan = self.plan(source, target_langs, cache)
            units, jobs, pending, estimate = plan.units, plan.jobs, plan.pending, plan.estimate
            for line in plan.lines:
                log.info("%s", line)
            usage = Usage("batch" if self.batch else "sync")
            try:
                if pending:
                    key = self.api_key()
                    with redacted_logging(key):
                        asyncio.run(self._run(pending, cache, key, usage))
            finally:
                # On every exit path (a fatal error, a breaker, Ctrl-C): what was sent and paid for.
                self.usage = self._usage_record(jobs, pending, usage, estimate, cache)
        failing = [job for job in jobs.values() if job.error]
        if failing:
            raise TranslationError(
                f"{len(failing)} text(s) could not be translated because the API kept failing, e.g. "
                f"'{failing[0].error}'; everything completed is cached in {self.cache_path}: rerun to resume"
            )
        frames, self.qc = self._assemble(source, units, jobs, target_langs)
        return frames

    async def _run(self, pending: list[Job], cache: TranslationCache, key: str, usage: Usage) -> None:
        import openai

        if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
            logging.getLogger("httpx2").setLevel(logging.WARNING)  # one INFO line per request is noise at scale
        options = self.options
        client = openai.AsyncOpenAI(
            api_key=key, base_url=options["base_url"], timeout=options["timeout"], max_retries=0
        )
        caller = ApiCaller(
            RateLimiter(options["rpm"], options["tpm"]),
            options["max_retries"],
            options["backoff_base"],
            options["backoff_max"],
            key,
            options["base_url"] or "api.openai.com",
            options["api_key_env"],
            breaker_limit=max(30, 2 * options["concurrency"]),
        )
        bar = _progress(len(pending), "batch" if self.batch else "sync", options["progress"])
        try:
            if self.batch:
                await run_batches(self, pending, cache, client, caller, usage, bar)
            else:
                await self._run_sync(pending, cache, client, caller, usage, bar)
        finally:
            bar.close()
            usage.requests += caller.stats.requests
            usage.retries += caller.stats.retries
            usage.rate_limited += caller.stats.rate_limited
            await client.close()

    async def _run_sync(
        self, pending: list[Job], cache: TranslationCache, client: Any, caller: ApiCaller, usage: Usage, bar: Any
    ) -> None:
        queue = iter(pending)

        async def worker() -> None:
            for job in queue:
                await self._complete(job, cache, client, caller, usage)
                bar.update(1)
                bar.set_postfix(requests=caller.stats.requests, retries=caller.stats.retries, refresh=False)

        workers = [asyncio.ensure_future(worker()) for _ in range(min(self.options["concurrency"], len(pending)))]
        try:
            done, _ = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if task.exception() is not None:
                    raise task.exception()  # a fatal API error: stop everything at once
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _complete(self, job: Job, cache: TranslationCache, client: Any, caller: ApiCaller, usage: Usage) -> None:
        """Requests attempts for one text until one passes validation or attempts run out."""
        while job.pending(self.max_attempts):
            messages = self.messages(job)
            estimate = estimate_tokens(messages, job.text, job.lang)

            async def send(messages: list[dict[str, str]] = messages) -> Any:
                return await client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    temperature=self.options["temperature"],
                    max_tokens=self.options["max_tokens"],
                )

            try:
                response = await caller.call(send, tokens=sum(estimate), what=f"{job.lang} translation")
                completion = completion_from(response, len(job.history), "sync")
            except RetriesExhausted as err:
                job.error = str(err)
                return
            if completion.prompt_tokens is not None and completion.completion_tokens is not None:
                caller.limiter.correct(sum(estimate), completion.prompt_tokens + completion.completion_tokens)
            self.store(job, completion, cache, usage, estimate)

    def store(self, job: Job, completion: Completion, cache: TranslationCache, usage: Usage, estimate: Any) -> None:
        """Commits a completion the moment it arrives, then validates it."""
        cache.put(job.key, completion, self.model, self.prompt.version, job.lang, job.sha)
        usage.add(completion, estimate)
        job.add(completion, self.settings)
        if job.reason is not None:
            log.debug("%s attempt %d rejected: %s", job.lang, len(job.history), job.reason)

    # ---- results ------------------------------------------------------------------------------
    def _assemble(
        self, source: pl.DataFrame, units: list[Unit], jobs: dict[tuple[str, str], Job], target_langs: list[str]
    ) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
        """Per-language frames (items failing QC left out) and the QC rows for what failed."""
        has_choices = "choices" in source.columns
        no_choices = set(source.filter(pl.col("choices").is_null())["id"]) if has_choices else set()
        has_solution = self.options["translate_solution"] and "solution" in source.columns
        by_item: dict[str, list[Unit]] = {}
        for unit in units:
            by_item.setdefault(unit.item, []).append(unit)
        frames, qc_rows = {}, []
        for lang in target_langs:
            rows = []
            for item, item_units in by_item.items():
                texts: dict[tuple[str, int | None], str | None] = {}
                failed = False
                for unit in item_units:
                    if not needs_translation(unit.text):
                        texts[(unit.field, unit.index)] = unit.text
                        continue
                    job = jobs[(lang, text_sha(unit.text))]
                    if job.result is None:
                        failed = True
                        last = job.history[-1][0].output if job.history else None
                        qc_rows.append(
                            {
                                "dataset": self.dataset,
                                "id": item,
                                "lang": lang,
                                "field": unit.field if unit.index is None else f"{unit.field}[{unit.index}]",
                                "reason": reason_code(job.reason or "error"),
                                "detail": job.reason or job.error or "",
                                "attempts": len(job.history),
                                "source": unit.text,
                                "output": last,
                                "model": self.model,
                                "prompt_version": self.prompt.version,
                                "action": "",
                            }
                        )
                    texts[(unit.field, unit.index)] = job.result
                if failed:
                    continue
                row: dict[str, Any] = {"id": item, "question": texts[("question", None)]}
                row["solution"] = texts.get(("solution", None)) if has_solution else None
                if has_choices:
                    n_options = sum(u.field == "choices" for u in item_units)
                    row["choices"] = None if item in no_choices else [texts[("choices", i)] for i in range(n_options)]
                rows.append(row)
            schema = {"id": pl.String, "question": pl.String, "solution": pl.String}
            if has_choices:
                schema["choices"] = pl.List(pl.String)
            frames[lang] = pl.DataFrame(rows, schema=schema)
        return frames, pl.DataFrame(qc_rows, schema=QC_SCHEMA) if qc_rows else empty_qc()

    def _usage_record(
        self,
        jobs: dict[tuple[str, str], Job],
        pending: list[Job],
        usage: Usage,
        estimate: dict[str, Any],
        cache: TranslationCache | None = None,
    ) -> dict[str, Any]:
        prices = self.options["prices"]
        ledger = self._ledger(cache) if cache is not None else None
        return {
            "dataset": self.dataset,
            "backend": "openai",
            "model": self.model,
            "base_url": self.options["base_url"],
            "prompt_version": self.prompt.version,
            "mode": usage.mode,
            "texts": len(jobs),
            "texts_cached": len(jobs) - len(pending),
            "texts_translated": sum(1 for job in jobs.values() if job.result is not None),
            "texts_failed_qc": sum(1 for job in jobs.values() if job.result is None and not job.error),
            "texts_api_error": sum(1 for job in jobs.values() if job.error),
            "http_requests": usage.requests,
            "retries": usage.retries,
            "rate_limited": usage.rate_limited,
            "completions": usage.completions,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "completions_without_usage": usage.estimated_usage,
            "cost_usd": round(cost_usd(usage.prompt_tokens, usage.completion_tokens, prices, self.batch), 6),
            "prices": prices,
            "estimate_before_run": estimate,
            **({"cache_ledger": ledger} if ledger is not None else {}),
        }

    def _ledger(self, cache: TranslationCache) -> dict[str, Any]:
        """Every completion ever stored in the cache file and its cost: what was paid for, also by
        runs killed with -9 before they could write their own usage record."""
        prices = self.options["prices"]
        rows = cache.db.execute(
            "SELECT mode, COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0) "
            "FROM completions GROUP BY mode"
        ).fetchall()
        return {
            "completions": sum(r[1] for r in rows),
            "prompt_tokens": sum(r[2] for r in rows),
            "completion_tokens": sum(r[3] for r in rows),
            "cost_usd": round(sum(cost_usd(r[2], r[3], prices, r[0] == "batch") for r in rows), 6),
        }


def _progress(total: int, mode: str, enabled: bool) -> Any:
    from tqdm import tqdm

    interactive = sys.stderr.isatty()
    return tqdm(
        total=total,
        desc=f"translating ({mode})",
        unit="text",
        disable=not enabled,
        mininterval=0.5 if interactive else 10.0,
        dynamic_ncols=interactive,
        file=sys.stderr,
    )
