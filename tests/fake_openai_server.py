"""A small OpenAI-compatible HTTP server for tests and the throughput benchmark.

Serves what the translation backend uses -- chat completions, file upload and download,
batches (create, retrieve, list) -- on 127.0.0.1 with an ephemeral port, in a daemon
thread, so the real `openai` client (and its HTTP stack) is what gets tested. It can inject
the faults a paid API produces: 429 with Retry-After, 5xx, connection resets, responses
slower than the client's timeout, malformed JSON, 400/401, and content faults (wrong
language, a dropped number, a refusal, a "Here is the translation" wrapper), or answer with
given translations (`answers`: real human translations for end-to-end tests). Every request
is logged (thread-safe) so tests can count what was paid for.

Its "translation" keeps numbers and LaTeX in place and replaces each English word with a
word of the target language, which the offline language identifier recognises. The target
language is read from the system prompt ("... into Spanish.").
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: Words of each language, cycled to stand in for the English words of the source.
PHRASES: dict[str, str] = {
    "es": "un granjero tiene varias cajas con manzanas y quiere saber cuántas quedan después de vender en el mercado",
    "fr": "un fermier possède plusieurs caisses de pommes et veut savoir combien il en reste après la vente au marché",
    "de": "ein Bauer hat mehrere Kisten mit Äpfeln und möchte wissen wie viele nach dem Verkauf übrig bleiben",
    "ru": "фермер имеет несколько ящиков с яблоками и хочет узнать сколько осталось после продажи на рынке",
    "zh": "一个 农民 有 几个 箱子 苹果 他 想 知道 在 市场 卖掉 一些 以后 还 剩下 多少",
    "ja": "農家 は りんご の 箱 を いくつか 持って います 市場 で 売った 後 に いくつ 残る か 知りたい",
    "th": "ชาวนา มี ลัง แอปเปิล หลาย ลัง และ อยาก รู้ ว่า หลังจาก ขาย ที่ ตลาด แล้ว เหลือ กี่ ลูก",
    "sw": "mkulima ana masanduku kadhaa ya matufaha na anataka kujua mangapi yamebaki baada ya kuuza sokoni",
    "bn": "একজন কৃষকের কাছে কয়েকটি আপেলের বাক্স আছে এবং তিনি জানতে চান বাজারে বিক্রির পরে কতগুলো বাকি থাকে",
    "te": "ఒక రైతు దగ్గర కొన్ని ఆపిల్ పెట్టెలు ఉన్నాయి మరియు మార్కెట్లో అమ్మిన తర్వాత ఎన్ని మిగిలాయో తెలుసుకోవాలి",
}
NO_SPACES = {"zh", "ja", "th"}
NAMES = {
    "Spanish": "es",
    "French": "fr",
    "German": "de",
    "Russian": "ru",
    "Simplified Chinese": "zh",
    "Chinese": "zh",
    "Japanese": "ja",
    "Thai": "th",
    "Swahili": "sw",
    "Bengali": "bn",
    "Telugu": "te",
}
_TOKEN = re.compile(r"(\$[^$]*\$|\\[a-zA-Z]+(?:\{[^{}]*\})?|\d+(?:[.,]\d+)*|[A-Za-z]+(?:'[a-z]+)?)")
_INTO = re.compile(r"into ((?:Simplified )?[A-Z][a-z]+)")

REFUSAL = "I'm sorry, but I can't help with that."


def fake_translate(text: str, lang: str) -> str:
    """English words -> words of `lang`; numbers, LaTeX and punctuation stay where they were."""
    words = itertools.cycle(PHRASES[lang].split())
    parts = []
    for piece in _TOKEN.split(text):
        if re.fullmatch(r"[A-Za-z]+(?:'[a-z]+)?", piece):
            parts.append(next(words))
        else:
            parts.append(piece)
    out = "".join(parts)
    if lang in NO_SPACES:
        out = re.sub(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])", "", out)
    return out


def approx_tokens(text: str) -> int:
    return max(1, len(text) // 4)


@dataclass
class Fault:
    """One injected fault: applies to chat requests whose source text contains `match`.

    kinds: 429, 500, 400, 401, reset (connection closed), slow (sleeps `delay` first),
    malformed (200 with broken JSON), wrong_language, drop_number, refusal, wrapper.
    `times` is how many matching requests get it (None: all of them).
    """

    kind: str
    match: str | None = None
    lang: str | None = None
    times: int | None = 1
    retry_after: float | None = 0.2
    delay: float = 2.0
    used: int = 0

    def applies(self, source: str, lang: str | None) -> bool:
        if self.times is not None and self.used >= self.times:
            return False
        if self.match is not None and self.match not in source:
            return False
        return self.lang is None or self.lang == lang


@dataclass
class _Batch:
    id: str
    input_file_id: str
    endpoint: str
    metadata: dict[str, Any]
    created_at: int
    status: str = "validating"
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"total": 0, "completed": 0, "failed": 0})

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": None,
            "input_file_id": self.input_file_id,
            "completion_window": "24h",
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "in_progress_at": self.created_at,
            "expires_at": self.created_at + 86400,
            "completed_at": int(time.time()) if self.status == "completed" else None,
            "request_counts": self.counts,
            "metadata": self.metadata,
        }


class FakeOpenAIServer:
    """Start with `with FakeOpenAIServer(...) as server:`; `server.base_url` is the client's base_url."""

    def __init__(
        self,
        api_key: str = "sk-test-key",
        latency: float = 0.0,
        rpm_limit: int | None = None,
        faults: list[Fault] | None = None,
        batch_delay: float = 0.0,
        max_lifetime: float = 600.0,
        answers: dict[tuple[str, str], str] | None = None,
    ) -> None:
        self.api_key = api_key
        self.latency = latency
        self.rpm_limit = rpm_limit
        self.faults = list(faults or [])
        self.batch_delay = batch_delay
        self.max_lifetime = max_lifetime
        # (source text, language) -> the translation to answer with (real translations, for
        # end-to-end tests on real text); other sources get fake_translate's word substitution.
        self.answers = dict(answers or {})
        self.log: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, _Batch] = {}
        self.batch_gate = threading.Event()
        self.batch_gate.set()
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self._hold_after: int | None = None
        self._released = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    # ---- lifecycle --------------------------------------------------------------------
    def start(self) -> FakeOpenAIServer:
        app = self

        class Handler(_Handler):
            server_app = app

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        # Bounded in time: a forgotten server never outlives its test run.
        self._timer = threading.Timer(self.max_lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self.batch_gate.set()
        if self._timer is not None:
            self._timer.cancel()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    # ---- inspection -------------------------------------------------------------------
    def chat_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.log if e["kind"] == "chat"]

    def completed(self) -> list[dict[str, Any]]:
        """Chat requests answered with a usable completion (status 200, fully written)."""
        return [e for e in self.chat_log() if e["completed"]]

    def hold_after(self, n: int) -> None:
        """After `n` completed chat requests, hold every further one until release()."""
        self._released.clear()
        self._hold_after = n

    def release(self) -> None:
        """Held requests are dropped (connection closed, never completed); new ones proceed."""
        self._hold_after = None
        self._released.set()

    def held(self) -> int:
        with self._lock:
            return sum(1 for e in self.log if e.get("status") == "held")

    # ---- behaviour --------------------------------------------------------------------
    def _take_fault(self, source: str, lang: str | None) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.applies(source, lang):
                    fault.used += 1
                    return fault
        return None

    def _rate_limited(self) -> float | None:
        """Seconds until a slot frees when the sliding 60 s window is full, else None."""
        if self.rpm_limit is None:
            return None
        now = time.monotonic()
        with self._lock:
            while self._window and now - self._window[0] >= 60.0:
                self._window.popleft()
            if len(self._window) >= self.rpm_limit:
                return 60.0 - (now - self._window[0])
            self._window.append(now)
        return None

    def chat(self, body: dict[str, Any], entry: dict[str, Any], sleep: bool = True) -> tuple[int, dict[str, str], Any]:
        """(status, headers, payload) for one chat completion request; fills the log entry."""
        messages = body.get("messages") or []
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        source = next((m["content"] for m in messages if m["role"] == "user"), "")
        found = _INTO.search(system)
        lang = NAMES.get(found.group(1)) if found else None
        entry.update(
            lang=lang,
            source_sha=hashlib.sha256(source.encode()).hexdigest()[:16],
            messages_sha=hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:16],
            turns=len(messages),
            messages=messages,
        )
        wait = self._rate_limited() if sleep else None
        if wait is not None:
            entry["fault"] = "rpm"
            return 429, {"retry-after": f"{wait:.3f}"}, {"error": {"message": "Rate limit reached", "type": "requests"}}
        fault = self._take_fault(source, lang)
        entry["fault"] = fault.kind if fault else None
        if sleep and self.latency:
            time.sleep(self.latency)
        if fault is not None:
            if fault.kind == "429":
                headers = {"retry-after": str(fault.retry_after)} if fault.retry_after is not None else {}
                return 429, headers, {"error": {"message": "Rate limit reached for requests", "type": "requests"}}
            if fault.kind == "500":
                return 500, {}, {"error": {"message": "The server had an error", "type": "server_error"}}
            if fault.kind == "400":
                return 400, {}, {"error": {"message": "Invalid 'messages': rejected by the fake server", "type": "x"}}
            if fault.kind in ("slow", "malformed", "reset"):
                entry["action"] = fault.kind
                if fault.kind == "slow" and sleep:
                    time.sleep(fault.delay)
        if lang is None or lang not in PHRASES:
            return 400, {}, {"error": {"message": "no target language in the system prompt", "type": "x"}}
        content = self.answers.get((source, lang)) or fake_translate(source, lang)
        if fault is not None:
            if fault.kind == "wrong_language":
                content = source
            elif fault.kind == "drop_number":
                content = re.sub(r"\d+", "", content, count=1)
            elif fault.kind == "refusal":
                content = REFUSAL
            elif fault.kind == "wrapper":
                content = "Here is the translation:\n" + content
        prompt_tokens = sum(approx_tokens(m["content"]) for m in messages) + 3 * len(messages)
        payload = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": approx_tokens(content),
                "total_tokens": prompt_tokens + approx_tokens(content),
            },
        }
        return 200, {}, payload

    def _hold(self, entry: dict[str, Any]) -> bool:
        """True when this request must be dropped (held past a kill); blocks while held."""
        if self._hold_after is None or len(self.completed()) < self._hold_after:
            return False
        entry["status"] = "held"
        self._released.wait()
        entry["status"] = "aborted"
        return True

    def _run_batch(self, batch: _Batch) -> None:
        """Processes a batch's input file (after batch_delay, once batch_gate is open)."""
        deadline = time.monotonic() + self.batch_delay
        while time.monotonic() < deadline or not self.batch_gate.is_set():
            time.sleep(0.02)
            if self._httpd is None:
                return
        batch.status = "in_progress"
        outputs, errors = [], []
        for line in self.files[batch.input_file_id].decode().splitlines():
            if not line.strip():
                continue
            request = json.loads(line)
            entry = {"kind": "chat", "method": "BATCH", "path": request["url"], "t0": time.time(), "batch": batch.id}
            status, _headers, payload = self.chat(request["body"], entry, sleep=False)
            entry.update(status=status, completed=status == 200, t1=time.time())
            with self._lock:
                self.log.append(entry)
            record = {
                "id": f"batch_req_{uuid.uuid4().hex[:12]}",
                "custom_id": request["custom_id"],
                "response": {"status_code": status, "request_id": uuid.uuid4().hex, "body": payload},
                "error": None,
            }
            (outputs if status == 200 else errors).append(json.dumps(record))
        batch.counts = {"total": len(outputs) + len(errors), "completed": len(outputs), "failed": len(errors)}
        if outputs:
            batch.output_file_id = self._store("\n".join(outputs).encode() + b"\n")
        if errors:
            batch.error_file_id = self._store("\n".join(errors).encode() + b"\n")
        batch.status = "completed"

    def _store(self, data: bytes) -> str:
        file_id = f"file-{uuid.uuid4().hex[:16]}"
        with self._lock:
            self.files[file_id] = data
        return file_id


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_app: FakeOpenAIServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None, raw: bytes | None = None) -> bool:
        body = raw if raw is not None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            return True
        except OSError:
            self.close_connection = True
            return False

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _authorized(self, entry: dict[str, Any]) -> bool:
        app = self.server_app
        given = (self.headers.get("authorization") or "").removeprefix("Bearer ")
        if given == app.api_key:
            return True
        # Like a careless real server, echo the key back: the client must never show it.
        self._send(
            401, {"error": {"message": f"Incorrect API key provided: {given}.", "type": "invalid_request_error"}}
        )
        entry.update(status=401, completed=False, t1=time.time())
        return False

    def _entry(self, kind: str) -> dict[str, Any]:
        entry = {"kind": kind, "method": self.command, "path": self.path, "t0": time.time(), "completed": False}
        with self.server_app._lock:
            self.server_app.log.append(entry)
        return entry

    def do_POST(self) -> None:
        app = self.server_app
        body = self._body()
        if self.path.endswith("/chat/completions"):
            entry = self._entry("chat")
            if not self._authorized(entry):
                return
            status, headers, payload = app.chat(json.loads(body), entry)
            if app._hold(entry):
                self.close_connection = True
                entry["t1"] = time.time()
                return
            action = entry.get("action")
            if action == "reset":
                self.close_connection = True
                entry.update(status="reset", t1=time.time())
                return
            raw = b'{"id": "chatcmpl-broken", "choices": [{"index": 0, "mess' if action == "malformed" else None
            written = self._send(status, payload, headers, raw)
            entry.update(status=status, completed=written and status == 200 and raw is None, t1=time.time())
        elif self.path.endswith("/files"):
            entry = self._entry("file")
            if not self._authorized(entry):
                return
            message = BytesParser(policy=policy.HTTP).parsebytes(
                b"content-type: " + self.headers["content-type"].encode() + b"\r\n\r\n" + body
            )
            fields = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
            file_id = app._store(fields["file"].get_payload(decode=True))
            self._send(
                200,
                {
                    "id": file_id,
                    "object": "file",
                    "bytes": len(app.files[file_id]),
                    "created_at": 0,
                    "filename": fields["file"].get_filename(),
                    "purpose": "batch",
                    "status": "processed",
                },
            )
            entry.update(status=200, completed=True, file_id=file_id, t1=time.time())
        elif self.path.endswith("/batches"):
            entry = self._entry("batch_create")
            if not self._authorized(entry):
                return
            request = json.loads(body)
            if request["input_file_id"] not in app.files:
                self._send(404, {"error": {"message": "No such file", "type": "invalid_request_error"}})
                return
            batch = _Batch(
                f"batch_{uuid.uuid4().hex[:16]}",
                request["input_file_id"],
                request["endpoint"],
                request.get("metadata") or {},
                int(time.time()),
            )
            app.batches[batch.id] = batch
            threading.Thread(target=app._run_batch, args=(batch,), daemon=True).start()
            self._send(200, batch.as_json())
            entry.update(status=200, completed=True, batch_id=batch.id, t1=time.time())
        else:
            self._send(404, {"error": {"message": f"unknown path {self.path}"}})

    def do_GET(self) -> None:
        app = self.server_app
        entry = self._entry("get")
        if not self._authorized(entry):
            return
        path = self.path.split("?", 1)[0]
        if (found := re.fullmatch(r"/v1/batches/([\w-]+)", path)) and found.group(1) in app.batches:
            self._send(200, app.batches[found.group(1)].as_json())
        elif path == "/v1/batches":
            data = [b.as_json() for b in reversed(list(app.batches.values()))]
            self._send(200, {"object": "list", "data": data, "has_more": False})
        elif (found := re.fullmatch(r"/v1/files/([\w-]+)/content", path)) and found.group(1) in app.files:
            self._send(200, None, raw=app.files[found.group(1)])
        else:
            self._send(404, {"error": {"message": f"unknown path {path}", "type": "invalid_request_error"}})
            return
        entry.update(status=200, completed=True, t1=time.time())


if __name__ == "__main__":  # a manual server: python tests/fake_openai_server.py
    with FakeOpenAIServer(latency=1.0) as server:
        print(server.base_url, "key:", server.api_key, flush=True)
        threading.Event().wait(server.max_lifetime)
