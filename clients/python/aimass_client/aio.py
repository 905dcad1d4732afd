# SPDX-License-Identifier: Apache-2.0
"""The asyncio client: every call of ``Client``, awaited.

Each call runs a synchronous ``Client`` call on the event loop's default thread executor; a
pool of idle clients (one keep-alive connection each) is reused, so concurrent calls run on
separate connections. Thread-safe as far as asyncio is: use it from one event loop.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Callable, List

from .client import Client


class AsyncClient:
    """Takes the arguments of ``Client``; every public method of ``Client`` is a coroutine."""

    def __init__(self, base_url: str, **options: Any) -> None:
        self._factory: Callable[[], Client] = functools.partial(Client, base_url, **options)
        self._idle: List[Client] = [self._factory()]  # checks the options at once

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        client = self._idle.pop() if self._idle else self._factory()
        try:
            method = getattr(client, name)
            result = await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(method, *args, **kwargs))
        except BaseException:
            client.close()
            raise
        self._idle.append(client)
        return result

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or not callable(getattr(Client, name, None)) or name == "close":
            raise AttributeError(name)
        return functools.partial(self._call, name)

    async def close(self) -> None:
        """Closes every idle connection."""
        for client in self._idle:
            client.close()
        self._idle.clear()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
