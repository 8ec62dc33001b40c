"""The OpenAI-compatible client's failure handling, against a scripted HTTP server on 127.0.0.1.

The server only exercises transport behaviour (status codes, delays, concurrency); real generation
through this backend is tested against `vllm serve` in test_vllm.py.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dataforge import Sampling
from dataforge.backends.openai import OpenAIBackend
from dataforge.core.errors import ForgeError
from jobs.cluster import free_port

CHAT = [{"role": "user", "content": "hi"}]


class Script:
    """What the server answers, request by request: (status, delay seconds, headers)."""

    def __init__(self, answers):
        self.answers, self.lock = list(answers), threading.Lock()
        self.seen: list[dict] = []
        self.active = self.peak = 0

    def next(self, body):
        with self.lock:
            self.seen.append(body)
            self.active += 1
            self.peak = max(self.peak, self.active)
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def done(self):
        with self.lock:
            self.active -= 1


@pytest.fixture
def server():
    scripts = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script = scripts["s"]
            status, delay, headers = script.next(body)
            try:
                time.sleep(delay)
                payload = (json.dumps({"choices": [{"message": {"content": "transport-ok"}, "finish_reason": "stop"}],
                                       "usage": {"completion_tokens": 1}}) if status == 200 else '{"error": "x"}')
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload.encode())
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                script.done()

    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def use(answers):
        scripts["s"] = Script(answers)
        return scripts["s"], f"http://127.0.0.1:{httpd.server_address[1]}/v1"

    yield use
    httpd.shutdown()
    httpd.server_close()


def test_429_and_5xx_are_retried_with_backoff_honouring_retry_after(server):
    script, url = server([(429, 0, {"Retry-After": "0.3"}), (503, 0, {}), (200, 0, {})])
    llm = OpenAIBackend("m", base_url=url, backoff=0.01, max_retries=3)
    start = time.monotonic()
    out = llm.generate([CHAT], Sampling(max_tokens=4, seed=7))
    assert out[0].text == "transport-ok" and len(script.seen) == 3
    assert time.monotonic() - start >= 0.3  # waited as Retry-After asked
    assert script.seen[0]["seed"] == 7 and script.seen[0]["max_tokens"] == 4 and script.seen[0]["messages"] == CHAT


def test_persistent_5xx_fails_with_one_line_after_the_retries(server):
    script, url = server([(500, 0, {})])
    llm = OpenAIBackend("m", base_url=url, backoff=0.01, max_retries=2)
    with pytest.raises(ForgeError) as e:
        llm.generate([CHAT], Sampling(max_tokens=4))
    assert "HTTP 500" in str(e.value) and "after 3 attempts" in str(e.value) and "\n" not in str(e.value)
    assert len(script.seen) == 3


def test_client_errors_are_not_retried(server):
    script, url = server([(400, 0, {})])
    with pytest.raises(ForgeError, match="answered HTTP 400"):
        OpenAIBackend("m", base_url=url, backoff=0.01).generate([CHAT], Sampling(max_tokens=4))
    assert len(script.seen) == 1


def test_slow_replies_time_out_and_are_retried(server):
    script, url = server([(200, 1.0, {}), (200, 0, {})])
    llm = OpenAIBackend("m", base_url=url, timeout=0.3, backoff=0.01, max_retries=2)
    assert llm.generate([CHAT], Sampling(max_tokens=4))[0].text == "transport-ok"
    assert len(script.seen) == 2


def test_unreachable_server_is_a_clear_one_line_error():
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    llm = OpenAIBackend("m", base_url=url, backoff=0.01, max_retries=1, timeout=2)
    with pytest.raises(ForgeError) as e:
        llm.generate([CHAT], Sampling(max_tokens=4))
    msg = str(e.value)
    assert url in msg and "cannot connect" in msg and "is the server running" in msg and "\n" not in msg


def test_concurrency_limit_caps_requests_in_flight(server):
    script, url = server([(200, 0.15, {})])
    llm = OpenAIBackend("m", base_url=url, concurrency=3)
    out = llm.generate([CHAT] * 12, Sampling(max_tokens=4))
    assert len(out) == 12 and len(script.seen) == 12
    assert script.peak <= 3 and script.peak >= 2


def test_raw_prompts_use_completions_and_json_schema_is_sent(server):
    script, url = server([(200, 0, {})])
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    OpenAIBackend("m", base_url=url).generate(["raw text"], Sampling(max_tokens=4, json_schema=schema))
    assert script.seen[0]["prompt"] == "raw text"
    assert script.seen[0]["response_format"]["json_schema"]["schema"] == schema
