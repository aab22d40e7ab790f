"""An asyncio WebSocket client: many sequences over one connection (``websockets``).

Each request carries a ``req`` number; a reader task matches answers to requests,
so any number of sequences can have a message in flight at once (the server batches
them). Example::

    >>> async with Client("ws://127.0.0.1:8000/ws") as client:
    ...     answer = await client.step("sensor-7", [[0.1, 0.2, 0.3]], start=True)
    ...     answer["y"]                  # one output per step sent
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any


class ServerError(Exception):
    """An error answer: ``status`` (4xx / 5xx) and the server's message."""

    def __init__(self, answer: dict):
        super().__init__(f"{answer.get('status')}: {answer.get('error')}")
        self.status, self.answer = answer.get("status"), answer


class Client:
    """A WebSocket connection to ``rnnlens serve`` (``async with`` or ``connect``).

    Args:
        url: ``ws://host:port/ws``.
        max_size: the largest answer accepted, in bytes.
    """

    def __init__(self, url: str, max_size: int = 1 << 24):
        self.url, self.max_size = url, max_size
        self._ws: Any = None
        self._pending: dict[int, asyncio.Future] = {}
        self._ids = itertools.count()
        self._reader: asyncio.Task | None = None
        #: answers that matched no request (e.g. errors for ``send_raw`` messages)
        self.unmatched: list[dict] = []

    async def connect(self) -> "Client":
        from rnnlens.serve import _require

        _require("websockets")
        import websockets

        self._ws = await websockets.connect(self.url, max_size=self.max_size)
        self._reader = asyncio.create_task(self._read())
        return self

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def __aenter__(self) -> "Client":
        return await self.connect()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                answer = json.loads(raw)
                future = self._pending.pop(answer.get("req"), None)
                if future is not None and not future.done():
                    future.set_result(answer)
                elif future is None and len(self.unmatched) < 10000:
                    self.unmatched.append(answer)
        except Exception:                                  # closed: fail what is pending
            pass
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("The connection closed."))
        self._pending.clear()

    async def request(self, op: str, check: bool = True, **fields: Any) -> dict:
        """Sends ``{"op": op, **fields}``; the answer (ServerError if not ok and check)."""
        req = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[req] = future
        await self._ws.send(json.dumps({"op": op, "req": req, **fields}))
        answer = await future
        if check and not answer.get("ok"):
            raise ServerError(answer)
        return answer

    async def send_raw(self, text: str | bytes) -> None:
        """Sends anything (for tests of bad messages); answers without ``req`` are dropped."""
        await self._ws.send(text)

    async def open(self, seq_id: str | None = None) -> str:
        answer = await self.request("open", **({"id": seq_id} if seq_id else {}))
        return answer["id"]

    async def step(self, seq_id: str, x: Any, start: bool = False, states: bool = False,
                   reset: bool = False, end: bool = False, check: bool = True) -> dict:
        """Sends steps ``x`` (T steps, or ``{input: steps}``); returns the answer."""
        fields = {k: v for k, v in (("start", start), ("states", states), ("reset", reset),
                                    ("end", end)) if v}
        return await self.request("step", check=check, id=seq_id, x=x, **fields)

    async def reset(self, seq_id: str) -> dict:
        return await self.request("reset", id=seq_id)

    async def end(self, seq_id: str) -> dict:
        return await self.request("end", id=seq_id)


__all__ = ["Client", "ServerError"]
