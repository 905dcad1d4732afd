# SPDX-License-Identifier: Apache-2.0
"""One persistent HTTP/1.1 connection with auth, TLS, timeouts and retries.

Not thread-safe: a ``Transport`` holds one connection and sends one request at a time (use one
client per thread, or the ``AsyncClient``, which gives each request its own transport).
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Mapping, Optional, Tuple

from .errors import AimassError, AimassTimeoutError


@dataclass(frozen=True)
class RetryPolicy:
    """When a request is sent again.

    A request whose method is in ``methods`` (by default only the idempotent reads GET and HEAD)
    and whose answer has a status in ``statuses`` is retried up to ``retries`` times, waiting
    ``backoff * 2**attempt`` seconds (capped at ``max_backoff``) before each try.
    """

    retries: int = 3
    backoff: float = 0.1
    max_backoff: float = 2.0
    statuses: FrozenSet[int] = frozenset({503})
    methods: FrozenSet[str] = frozenset({"GET", "HEAD"})

    def delay(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff * (2 ** attempt))


@dataclass
class Response:
    """A complete answer: status, headers (lower-case names) and body bytes."""

    status: int
    headers: Dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


# Errors that mean a reused keep-alive connection was closed by the server while idle: the
# request never reached it, so it is sent once more on a fresh connection.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
          http.client.CannotSendRequest, http.client.BadStatusLine)


class Transport:
    """Sends requests to ``base_url`` over one keep-alive connection, reconnecting on failure.

    Errors: every failure is an ``AimassError`` (``AimassTimeoutError`` for a timeout); an answer
    with status >= 400 becomes one carrying the server's status, message and JSON body.
    """

    def __init__(self, base_url: str, *, api_key: Optional[str] = None,
                 token: Optional[str] = None, timeout: float = 30.0,
                 ca_file: Optional[str] = None, cert_file: Optional[str] = None,
                 key_file: Optional[str] = None, verify: bool = True,
                 retry: Optional[RetryPolicy] = None,
                 headers: Optional[Mapping[str, str]] = None) -> None:
        parsed = urllib.parse.urlsplit(base_url if "://" in base_url else "http://" + base_url)
        if parsed.scheme not in ("http", "https"):
            raise AimassError(None, f"base_url '{base_url}': the scheme must be http or https")
        if not parsed.hostname:
            raise AimassError(None, f"base_url '{base_url}' names no host")
        if api_key and token:
            raise AimassError(None, "give api_key or token, not both")
        self.scheme = parsed.scheme
        self.host = parsed.hostname
        self.port = parsed.port or (443 if self.scheme == "https" else 80)
        self.prefix = parsed.path.rstrip("/")
        self.timeout = timeout
        self.retry = retry if retry is not None else RetryPolicy()
        self._headers: Dict[str, str] = {"Accept": "application/json"}
        if api_key:
            self._headers["X-API-Key"] = api_key
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._headers.update(headers or {})
        self._context: Optional[ssl.SSLContext] = None
        if self.scheme == "https":
            self._context = ssl.create_default_context(cafile=ca_file)
            if not verify:
                self._context.check_hostname = False
                self._context.verify_mode = ssl.CERT_NONE
            if cert_file:
                self._context.load_cert_chain(cert_file, key_file)
        elif cert_file or ca_file:
            raise AimassError(None, "ca_file and cert_file need an https:// base_url")
        self._conn: Optional[http.client.HTTPConnection] = None
        self._used = False  # whether the open connection has carried a request already

    def close(self) -> None:
        """Closes the connection (the next request opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._used = False

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._context is not None:
                self._conn = http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                                         context=self._context)
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            self._used = False
        self._conn.timeout = timeout
        if self._conn.sock is not None:
            self._conn.sock.settimeout(timeout)
        return self._conn

    def _send_once(self, method: str, path: str, body: Optional[bytes],
                   headers: Dict[str, str], timeout: float) -> Response:
        for fresh_try in (False, True):
            conn = self._connect(timeout)
            reused = self._used
            try:
                conn.request(method, self.prefix + path, body=body, headers=headers)
                self._used = True
                answer = conn.getresponse()
                data = answer.read()
            except _STALE as error:
                self.close()
                if reused and not fresh_try:
                    continue  # the server closed an idle connection: send once more
                raise AimassError(None, f"connection lost: {error}", method=method,
                                  path=path) from error
            except (socket.timeout, TimeoutError) as error:
                self.close()
                raise AimassTimeoutError(None, f"no answer within {timeout} s", method=method,
                                         path=path) from error
            except (OSError, http.client.HTTPException) as error:
                self.close()
                raise AimassError(None, f"cannot reach {self.host}:{self.port}: {error}",
                                  method=method, path=path) from error
            result = Response(answer.status, {k.lower(): v for k, v in answer.getheaders()},
                              data)
            if answer.will_close:
                self.close()
            return result
        raise AssertionError("unreachable")

    def request(self, method: str, path: str, body: Optional[bytes] = None,
                headers: Optional[Mapping[str, str]] = None,
                timeout: Optional[float] = None,
                retry: Optional[RetryPolicy] = None) -> Response:
        """Sends one request, retrying per ``retry`` (default: the transport's policy); an
        answer >= 400 raises AimassError."""
        policy = self.retry if retry is None else retry
        all_headers = dict(self._headers)
        all_headers.update(headers or {})
        if body is not None and "Content-Type" not in all_headers:
            all_headers["Content-Type"] = "application/json"
        limit = self.timeout if timeout is None else timeout
        attempt = 0
        while True:
            response = self._send_once(method, path, body, all_headers, limit)
            if (response.status in policy.statuses and method in policy.methods and
                    attempt < policy.retries):
                time.sleep(policy.delay(attempt))
                attempt += 1
                continue
            if response.status >= 400:
                raise _error_of(response, method, path)
            return response

    def json(self, method: str, path: str, payload: Any = None,
             timeout: Optional[float] = None) -> Any:
        """request() with a JSON body (when ``payload`` is not None) and a JSON answer."""
        body = None if payload is None else json.dumps(payload).encode("utf-8")
        return self.request(method, path, body, timeout=timeout).json()


def _error_of(response: Response, method: str, path: str) -> AimassError:
    body: Any = None
    message = ""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        message = body["error"]
    else:
        message = http.client.responses.get(response.status, "error")
    return AimassError(response.status, message, body, method, path)


def quote(segment: str) -> str:
    """A path segment, percent-encoded."""
    return urllib.parse.quote(str(segment), safe="")


def split_body(response: Response) -> Tuple[Any, bytes]:
    """The JSON header and the binary tail of an answer (the tail is b"" for plain JSON)."""
    length = response.headers.get("inference-header-content-length")
    if length is None:
        return response.json(), b""
    try:
        n = int(length)
    except ValueError as error:
        raise AimassError(response.status, f"Inference-Header-Content-Length '{length}' is not "
                          "a byte count") from error
    if n < 0 or n > len(response.body):
        raise AimassError(response.status, f"Inference-Header-Content-Length {n} is past the "
                          f"{len(response.body)}-byte body")
    return json.loads(response.body[:n].decode("utf-8")), response.body[n:]
