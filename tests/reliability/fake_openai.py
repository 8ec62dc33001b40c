"""A tiny OpenAI-compatible server on 127.0.0.1 for network-client failure tests.

It answers chat and text completions deterministically (a JSON object that fits the request's
`response_format` schema, else a fixed sentence), or fails the way a broken fleet does: 500, 401, a
reply too slow for the client's timeout, or a body that is not JSON (a 401 echoes the key it got, as
some gateways do), or replays a recorded reply body (`recorded`). It records the headers of every
request, so a test can check that a key reached the server and nowhere else.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jobs.cluster import free_port

MODES = ("ok", "500", "401", "slow", "garbage")


def fits(schema: dict[str, Any]) -> Any:
    """A value valid under a (simple) JSON schema: objects, strings, integers and numbers in range."""
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {k: fits(v) for k, v in schema.get("properties", {}).items()}
    if kind in ("integer", "number"):
        return schema.get("maximum", 4)
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    return "a fine and plain answer"


def reply_text(body: dict[str, Any]) -> str:
    fmt = (body.get("response_format") or {}).get("json_schema") or {}
    if fmt.get("schema"):
        return json.dumps(fits(fmt["schema"]))
    return "a fine and plain answer"


class FakeOpenAI:
    """The server; `mode` can change between requests. Use `serve()`."""

    def __init__(self):
        self.mode = "ok"
        self.recorded: dict[str, Any] | None = None  # a recorded reply body, replayed as it is in "ok" mode
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.headers.append(dict(self.headers.items()))
                mode = server.mode
                status, payload = 200, ""
                if mode == "slow":
                    time.sleep(3)
                if mode == "500":
                    status, payload = 500, '{"error": "overloaded"}'
                elif mode == "401":  # like some gateways, echo the credential it refused
                    said = self.headers.get("Authorization", "")
                    status, payload = 401, json.dumps({"error": f"invalid api key: {said}"})
                elif mode == "garbage":
                    payload = "<html>502 gateway says hello</html>"
                elif server.recorded is not None:
                    payload = json.dumps(server.recorded)
                else:
                    text = reply_text(body)
                    choice = ({"message": {"role": "assistant", "content": text}} if "messages" in body
                              else {"text": text})
                    payload = json.dumps({"choices": [{**choice, "finish_reason": "stop"}],
                                          "usage": {"completion_tokens": 5}})
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload.encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"


@contextmanager
def serve():
    fake = FakeOpenAI()
    thread = threading.Thread(target=fake.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.httpd.shutdown()
        fake.httpd.server_close()
