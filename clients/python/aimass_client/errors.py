# SPDX-License-Identifier: Apache-2.0
"""The one exception type the client raises."""

from __future__ import annotations

from typing import Any, Optional


class AimassError(Exception):
    """A failed call: the server's HTTP status and error message, or a transport failure.

    ``status`` is the HTTP status (``None`` when no answer came: connection refused, timeout,
    TLS failure); ``message`` is the server's ``"error"`` member (or what went wrong locally);
    ``body`` is the decoded JSON error body when the server sent one (else ``None``).
    """

    def __init__(self, status: Optional[int], message: str, body: Any = None,
                 method: str = "", path: str = "") -> None:
        self.status = status
        self.message = message
        self.body = body
        self.method = method
        self.path = path
        where = f"{method} {path}: " if method else ""
        code = f"HTTP {status}: " if status is not None else ""
        super().__init__(f"{where}{code}{message}")


class AimassTimeoutError(AimassError):
    """No complete answer within the call's timeout (``status`` is ``None``)."""
