"""Calling a paid API safely: one retry policy, rate-limit pauses, and a key that never leaks.

The client is created with `max_retries=0` and this module retries instead. openai's own
retry honours Retry-After too, but it retries *inside* one call: those retries would bypass
the shared RPM/TPM limiter, a 429 would stall only the worker that got it while the others
keep hitting the limit, and nothing would count them. Here every retry goes back through the
limiter, a 429 pauses all workers for its Retry-After, and transient failures (5xx, 408,
409, timeouts, connection resets, malformed JSON) back off exponentially with jitter up to
`max_retries`. Anything else (400, 401, 403, 404, 422, 429 insufficient_quota) is fatal: the
stage stops at once with the server's message.

Two breakers stop a run that retrying cannot save, instead of retrying every text in turn
(a dead endpoint used to take ~77 minutes to fail 600 texts): an endpoint that cannot be
reached (connection refused, DNS failure, TLS error) on most of the first requests stops the
stage within seconds, naming `base_url`; and once the run is under way, `breaker_limit`
failed requests in a row of one same kind, with no success in between, stop it too.

The API key lives only in the client object. Every message that can contain it (a server
may echo it in a 401) is redacted, and a logging filter redacts any log record, verbose
HTTP debug logs included.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import random
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import openai

from pscale.errors import UserError
from pscale.translate.limiter import RateLimiter

log = logging.getLogger(__name__)
T = TypeVar("T")


class TranslationError(UserError):
    """The stage cannot finish; the message says why and what to do (a UserError: `pscale` prints one line)."""


class RetriesExhausted(Exception):
    """A request kept failing transiently after every retry."""


@dataclass
class CallStats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    succeeded: int = 0


#: Failure kinds that mean the endpoint cannot be reached at all: retrying rarely helps.
UNREACHABLE = frozenset({"connection refused", "host not found (DNS)", "TLS error"})
#: Unreachable failures, before any success, that stop the stage (when they are most of the attempts).
FIRST_CONTACT_LIMIT = 4


def connection_kind(err: BaseException) -> str:
    """What went wrong under an openai.APIConnectionError, from its chain of causes."""
    seen: BaseException | None = err
    for _ in range(12):
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return "host not found (DNS)"
        if isinstance(seen, ssl.SSLError):
            return "TLS error"
        if isinstance(seen, (ConnectionResetError, BrokenPipeError)):
            return "connection reset"
        seen = seen.__cause__ or seen.__context__
    return "connection error"


def redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


class _RedactFilter(logging.Filter):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = redact(message, self.secret), ()
        return True


@contextlib.contextmanager
def redacted_logging(secret: str | None) -> Iterator[None]:
    """Redacts `secret` from every record reaching the root logger's handlers while active."""
    if not secret:
        yield
        return
    handlers = list(logging.getLogger().handlers)
    redactor = _RedactFilter(secret)
    for handler in handlers:
        handler.addFilter(redactor)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(redactor)


def retry_after(headers: Any) -> float | None:
    """Seconds a 429 asks to wait: retry-after-ms, retry-after (seconds or HTTP date), else None."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                return max(0.0, email.utils.mktime_tz(parsed) - time.time())
    return None


def _is_quota_error(err: openai.APIStatusError) -> bool:
    body = err.body if isinstance(err.body, dict) else {}
    detail = body.get("error", body) if isinstance(body.get("error", body), dict) else body
    return "insufficient_quota" in (str(err.code), str(detail.get("code")), str(detail.get("type")))


class ApiCaller:
    """Sends one API call with the run's retry policy; counts requests, retries and 429s."""

    def __init__(
        self,
        limiter: RateLimiter,
        max_retries: int,
        backoff_base: float,
        backoff_max: float,
        secret: str,
        where: str,
        key_env: str,
        breaker_limit: int = 30,
    ) -> None:
        self.limiter = limiter
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.secret = secret
        self.where = where
        self.key_env = key_env
        self.breaker_limit = breaker_limit
        self.stats = CallStats()
        self._streak: list[str] = []  # failure kinds since the last success
        self._warned: dict[str, int] = {}

    def _failed(self, kind: str) -> None:
        """Counts one failed attempt; raises TranslationError when a breaker trips."""
        self._streak.append(kind)
        count = self._warned.get(kind, 0) + 1
        self._warned[kind] = count
        if count == 1 or count % 50 == 0:
            log.warning("requests to %s are failing: %s (%d so far); retrying with backoff", self.where, kind, count)
        unreachable = [k for k in self._streak if k in UNREACHABLE]
        if (
            self.stats.succeeded == 0
            and len(unreachable) >= FIRST_CONTACT_LIMIT
            and len(unreachable) * 2 > self.stats.requests
        ):
            raise TranslationError(
                f"cannot reach the translation API at {self.where}: {unreachable[-1]} on {len(unreachable)} of the "
                f"first {self.stats.requests} requests, none answered; check translation.openai.base_url "
                f"({self.where}) and that the server is up, then rerun (nothing was translated or paid for)"
            )
        if len(self._streak) >= self.breaker_limit and len(set(self._streak[-self.breaker_limit :])) == 1:
            raise TranslationError(
                f"circuit breaker: the last {self.breaker_limit} requests to {self.where} all failed the same way "
                f"({kind}) with no success in between; stopped instead of retrying every text. Completed work is "
                "cached: rerun when the API answers again"
            )

    def _succeeded(self) -> None:
        self.stats.succeeded += 1
        self._streak.clear()

    def backoff(self, retry: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random, capped."""
        ceiling = min(self.backoff_max, self.backoff_base * 2**retry)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def fatal(self, err: openai.APIStatusError) -> TranslationError:
        hint = f" (check the key in ${self.key_env})" if err.status_code == 401 else ""
        return TranslationError(
            f"the API at {self.where} refused the request with HTTP {err.status_code}{hint}: "
            f"{redact(err.message, self.secret)}"
        )

    async def call(self, send: Callable[[], Awaitable[T]], tokens: float | None = None, what: str = "request") -> T:
        """`await send()` with retries; `tokens` (the estimate) routes it through the RPM/TPM limiter."""
        last = ""
        for retry in range(self.max_retries + 1):
            if tokens is not None:
                await self.limiter.acquire(tokens)
            self.stats.requests += 1
            delay = self.backoff(retry)
            kind = ""
            try:
                result = await send()
            except openai.RateLimitError as err:
                if _is_quota_error(err):
                    raise self.fatal(err) from None
                asked = retry_after(err.response.headers)
                delay = asked if asked is not None else delay
                if delay > 60:
                    log.warning("rate limited: the server asks to wait %.0f s before the next request", delay)
                self.limiter.pause(delay)
                self.stats.rate_limited += 1
                last = f"HTTP 429, Retry-After {asked}"
            except openai.APITimeoutError:
                last = kind = "timed out"
            except openai.APIConnectionError as err:
                kind = connection_kind(err)
                last = f"{kind} ({type(err.__cause__).__name__ if err.__cause__ else 'closed'})"
            except openai.APIStatusError as err:
                if err.status_code not in (408, 409) and err.status_code < 500:
                    raise self.fatal(err) from None
                kind = f"HTTP {err.status_code}"
                last = f"HTTP {err.status_code}: {redact(err.message, self.secret)}"
            except (ValueError, openai.APIResponseValidationError) as err:
                last = kind = f"malformed response ({type(err).__name__})"
            else:
                self._succeeded()
                return result
            if kind:  # a 429 is the server pacing us, not a failure of the endpoint
                self._failed(kind)
            if retry == self.max_retries:
                break
            self.stats.retries += 1
            log.debug("%s failed (%s); retry %d/%d in %.2f s", what, last, retry + 1, self.max_retries, delay)
            await asyncio.sleep(delay)
        raise RetriesExhausted(f"{what} still failing after {self.max_retries} retries: {last}")
