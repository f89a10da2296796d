"""HTTPS plumbing: the request handler, API session checks, request-level faults, headers."""

from __future__ import annotations

import json
import re
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from .encoding import accepts_gzip, gzip_bytes
from .errors import ApiError
from .server import ROUTES, Endpoint, Request, Response

if TYPE_CHECKING:
    from .emulator import SalesforceEmulator


class EmulatorServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its emulator."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], emulator: SalesforceEmulator, context: ssl.SSLContext
    ) -> None:
        self.emulator = emulator
        self.context = context
        super().__init__(address, Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """TLS handshake in the connection's own thread, so a slow client blocks nobody."""
        try:
            secure = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        with secure:
            super().finish_request(secure, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that drop connections are normal; do not print tracebacks for them."""


def check_api_call(req: Request) -> None:
    """Session, API usage and request-level faults, in the order Salesforce would fail."""
    emu = req.emu
    auth = req.headers.get("Authorization") or ""
    scheme, _, token = auth.partition(" ")
    if scheme.lower() not in ("bearer", "oauth") or not emu.sessions.is_valid(token):
        raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
    if emu.faults.fire("expire_session"):
        emu.sessions.revoke(token)
        raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
    used, total = emu.use_api_call()
    if used > total or emu.faults.fire("rate_limit"):
        raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    if too_many := emu.faults.take("http_429"):
        retry = {"Retry-After": str(too_many["retry_after"])}
        raise ApiError(429, "REQUEST_LIMIT_EXCEEDED", "Too many concurrent requests.", retry)
    if empty := emu.faults.take("empty_body_error"):
        raise ApiError(int(empty["status"]), "", "", empty_body=True)
    if failure := emu.faults.take("server_error"):
        status = int(failure["status"])
        code = "SERVER_UNAVAILABLE" if status == 503 else "UNKNOWN_EXCEPTION"
        raise ApiError(status, code, "An unexpected error occurred. Please try again later.")


def _compress(response: Response, accept_encoding: str | None) -> None:
    """gzip a REST or Bulk body in place when the client accepts it (see ``encoding.py``)."""
    fresh = response.body and "Content-Encoding" not in response.headers
    if fresh and accepts_gzip(accept_encoding):
        response.body = gzip_bytes(response.body)
        response.headers["Content-Encoding"] = "gzip"


def find_route(method: str, path: str) -> tuple[Endpoint, bool, re.Match[str]] | None:
    """The endpoint serving (method, path), whether it is an API call, and the path match."""
    for methods, pattern, endpoint, api in ROUTES:
        match = pattern.fullmatch(path)
        if match and method in methods.split("|"):
            return endpoint, api, match
    return None


class Handler(BaseHTTPRequestHandler):
    """Serves every route of ``server.ROUTES`` over HTTP/1.1 keep-alive connections."""

    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    server_version = "dagplane-salesforce-emulator"
    server: EmulatorServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are recorded in ``SalesforceEmulator.requests`` instead."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        emu = self.server.emulator
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        armed = emu.faults.armed("drop_connection")
        if armed is not None and path.startswith(armed["path"]):
            emu.faults.take("drop_connection")
            emu.record(self.command, self.path, 0)
            self.close_connection = True  # no status line at all: the client sees a reset
            return
        found = find_route(self.command, path)
        api = found[1] if found else path.startswith("/services/data/v")
        try:
            if found is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            endpoint, _, match = found
            query = dict(parse_qsl(url.query))
            req = Request(emu, self.command, path, query, self.headers, body, match)
            if api:
                check_api_call(req)
            response = endpoint(req)
        except ApiError as error:
            emu.count("errors")
            if error.empty_body:
                response = Response(error.status, b"", "", headers=error.headers)
            else:
                body = json.dumps(error.body()).encode()
                response = Response(error.status, body, headers=error.headers)
        except Exception as error:  # a bug: answer like Salesforce does, keep serving
            emu.count("errors")
            body = json.dumps([{"errorCode": "UNKNOWN_EXCEPTION", "message": repr(error)}])
            response = Response(500, body.encode())
        if api:
            used, total = emu.api_usage
            response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{total}"
        if path.startswith("/services/data"):
            _compress(response, self.headers.get("Accept-Encoding"))
        emu.record(self.command, self.path, response.status)
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and self.command != "HEAD":
            self.wfile.write(response.body)
