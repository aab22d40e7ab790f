"""The ASGI application (Starlette): HTTP routes and the WebSocket, over one Registry.

HTTP (JSON bodies, JSON answers; errors are ``{"ok": false, "status", "error"}``):

=========================================  ==============================================
``POST /sequences``                        open (body ``{"id": ...}`` optional) -> 201
``POST /sequences/{id}/steps``             steps (see :mod:`rnnlens.serve.protocol`);
                                           ``"start": true`` opens the id (or resets it)
``POST /sequences/{id}/reset``             restart from zero states
``DELETE /sequences/{id}``                 end (after any message in progress)
``GET /sequences/{id}``                    steps since the last reset, idle seconds
``GET /health``                            status, live sequences, the model's inputs
``GET /metrics``                           Prometheus text
``WS /ws``                                 messages ``{"op": "open" | "step" | "reset"
                                           | "end" | "info", "id": ..., "req": tag, ...}``
=========================================  ==============================================

WebSocket messages run concurrently (each sequence's in order) and each is answered
with the same ``op`` and ``req``; a bad message gets an error answer and the
connection stays open. A connection with ``max_inflight_per_connection`` messages
in progress is not read until one is answered (back-pressure through TCP).
Sequences outlive connections: a client may reconnect and go on; abandoned
sequences are evicted when idle.
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import asynccontextmanager
from typing import Any

import numpy as np

from rnnlens.serve.protocol import (ClientError, check_fields, check_id, flag, parse_json,
                                    parse_steps)
from rnnlens.serve.sequences import Registry, ServeConfig

STEP_FIELDS = {"x", "states", "reset", "end", "start"}


class Service:
    """The operations, shared by HTTP and WebSocket; each returns a JSON-able dict."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.stepper = registry.stepper
        self.config = registry.config

    def open(self, body: dict) -> dict:
        check_fields(body, {"id"}, "an open message")
        seq_id = check_id(body["id"]) if body.get("id") is not None else None
        seq = self.registry.open(seq_id)
        return {"ok": True, "id": seq.id}

    async def step(self, seq_id: str, body: dict) -> dict:
        check_fields(body, STEP_FIELDS, "a step message")
        start, want, reset, end = (flag(body, k) for k in ("start", "states", "reset", "end"))
        arrays = parse_steps(body, self.stepper, self.config.max_steps_per_message)
        seq = self.registry.live.get(seq_id) if start else None
        if start and seq is None:
            seq = self.registry.open(seq_id)
        elif seq is None:
            seq = self.registry.get(seq_id)
        async with await self.registry.locked(seq):
            if reset or start:
                seq.reset_pending, seq.steps = True, 0
            outputs, states = await self.registry.run_steps(seq, arrays, want)
            if end:
                self.registry.close(seq, "ended")
        answer = {"ok": True, "id": seq.id, "steps": seq.steps, "y": self._outputs(outputs)}
        if states is not None:
            answer["states"] = {layer: {name: np.stack([s[layer][name] for s in states])
                                        .tolist() for name in by_name}
                                for layer, by_name in states[0].items()}
        if end:
            answer["ended"] = True
        return answer

    def _outputs(self, outputs: list[list[np.ndarray]]) -> Any:
        stacked = [np.stack(rows).tolist() for rows in outputs]
        if len(stacked) == 1:
            return stacked[0]
        return {spec.name: y for spec, y in zip(self.stepper.outputs, stacked)}

    async def reset(self, seq_id: str) -> dict:
        seq = self.registry.get(seq_id)
        async with await self.registry.locked(seq):
            seq.reset_pending, seq.steps = True, 0
        return {"ok": True, "id": seq.id, "steps": 0}

    async def end(self, seq_id: str) -> dict:
        seq = self.registry.get(seq_id)
        async with await self.registry.locked(seq):
            self.registry.close(seq, "ended")
        return {"ok": True, "id": seq.id, "steps": seq.steps, "ended": True}

    def info(self, seq_id: str) -> dict:
        seq = self.registry.get(seq_id)
        return {"ok": True, "id": seq.id, "steps": seq.steps,
                "idle_s": round(time.monotonic() - seq.last_active, 3)}

    def health(self) -> dict:
        model = self.stepper.model
        return {
            "status": "ok", "model": model.name,
            "live_sequences": len(self.registry.live),
            "max_sequences": self.config.max_sequences,
            "inputs": [{"name": s.name, "step_shape": list(s.shape), "dtype": s.dtype}
                       for s in self.stepper.inputs],
            "outputs": [{"name": s.name, "per_step": s.per_step}
                        for s in self.stepper.outputs],
            "recurrent": self.stepper.recurrent}

    async def message(self, raw: str | bytes) -> dict:
        """One WebSocket message -> its answer (errors included)."""
        req = None
        op = None
        try:
            body = parse_json(raw, self.config.max_message_bytes)
            req, op = body.pop("req", None), body.pop("op", None)
            if req is not None and not isinstance(req, (str, int)) or \
                    isinstance(req, str) and len(req) > 128:
                req = None
                raise ClientError(400, "'req' must be a string (at most 128 characters) or "
                                  "an integer.")
            answer = await self._dispatch(op, body)
        except ClientError as err:
            self.registry.metrics.errors.inc(status=str(err.status))
            answer = err.payload()
        answer["op"] = op if isinstance(op, str) and len(op) < 16 else None
        if req is not None:
            answer["req"] = req
        return answer

    async def _dispatch(self, op: Any, body: dict) -> dict:
        if op == "open":
            return self.open(body)
        if op not in ("step", "reset", "end", "info"):
            raise ClientError(400, f"Unknown op {str(op)[:20]!r}; use open, step, reset, "
                              "end or info.")
        seq_id = check_id(body.pop("id", None))
        if op == "step":
            return await self.step(seq_id, body)
        check_fields(body, set(), f"a {op} message")
        if op == "reset":
            return await self.reset(seq_id)
        if op == "end":
            return await self.end(seq_id)
        return self.info(seq_id)


def create_app(model: Any, config: ServeConfig | None = None) -> Any:
    """The Starlette application serving ``model`` (see the module docstring).

    Args:
        model: a built rnnlens model whose recurrent layers can stream
            (:class:`~rnnlens.serve.stepper.ModelStepper` says why not otherwise).
        config: bounds and batching (:class:`ServeConfig`).
    """
    from rnnlens.serve import _require

    _require("starlette")
    from starlette.applications import Starlette
    from starlette.routing import Route, WebSocketRoute

    from rnnlens.serve.stepper import ModelStepper

    config = config or ServeConfig()
    registry = Registry(ModelStepper(model, max_slots=config.max_sequences), config)
    service = Service(registry)

    @asynccontextmanager
    async def lifespan(app: Any) -> Any:
        await registry.start()
        yield
        await registry.stop()

    routes = [
        Route("/health", _handler(service, _health), methods=["GET"]),
        Route("/metrics", _metrics(registry), methods=["GET"]),
        Route("/sequences", _handler(service, _open, status=201), methods=["POST"]),
        Route("/sequences/{seq_id}/steps", _handler(service, _steps), methods=["POST"]),
        Route("/sequences/{seq_id}/reset", _handler(service, _reset), methods=["POST"]),
        Route("/sequences/{seq_id}", _handler(service, _seq), methods=["GET", "DELETE"]),
        WebSocketRoute("/ws", _websocket(service)),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.registry, app.state.service = registry, service
    return app


async def _body(request: Any, limit: int, required: bool = True) -> dict:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise ClientError(413, f"Request body of {length} bytes is over the limit of "
                          f"{limit}; send fewer steps per message.")
    from starlette.requests import ClientDisconnect

    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ClientError(413, f"Request body over the limit of {limit} bytes; send "
                                  "fewer steps per message.")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ClientError(499, "The client closed the connection before sending its "
                          "whole request.") from None
    raw = b"".join(chunks)
    if not raw.strip() and not required:
        return {}
    return parse_json(raw, limit)


async def _health(service: Service, request: Any) -> dict:
    return service.health()


async def _open(service: Service, request: Any) -> dict:
    return service.open(await _body(request, service.config.max_message_bytes, False))


async def _steps(service: Service, request: Any) -> dict:
    seq_id = check_id(request.path_params["seq_id"])
    return await service.step(seq_id, await _body(request, service.config.max_message_bytes))


async def _reset(service: Service, request: Any) -> dict:
    return await service.reset(check_id(request.path_params["seq_id"]))


async def _seq(service: Service, request: Any) -> dict:
    seq_id = check_id(request.path_params["seq_id"])
    if request.method == "DELETE":
        return await service.end(seq_id)
    return service.info(seq_id)


def _handler(service: Service, fn: Any, status: int = 200) -> Any:
    from starlette.responses import JSONResponse

    async def endpoint(request: Any) -> Any:
        try:
            result = await fn(service, request)
            return JSONResponse(result, status_code=status)
        except ClientError as err:
            service.registry.metrics.errors.inc(status=str(err.status))
            return JSONResponse(err.payload(), status_code=err.status)

    return endpoint


def _metrics(registry: Registry) -> Any:
    from starlette.responses import PlainTextResponse

    async def endpoint(request: Any) -> Any:
        return PlainTextResponse(registry.metrics.render(),
                                 media_type="text/plain; version=0.0.4")

    return endpoint


def _websocket(service: Service) -> Any:
    async def endpoint(websocket: Any) -> None:
        await websocket.accept()
        send_lock = asyncio.Lock()
        inflight = asyncio.Semaphore(service.config.max_inflight_per_connection)

        async def answer(raw: Any) -> None:
            try:
                reply = await service.message(raw)
                async with send_lock:
                    await websocket.send_text(json.dumps(reply))
            except Exception:                     # the client went away: drop the answer
                pass
            finally:
                inflight.release()

        tasks: set = set()
        while True:
            await inflight.acquire()              # back-pressure: read no more for now
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            raw = message.get("text")
            raw = raw if raw is not None else message.get("bytes") or b""
            task = asyncio.create_task(answer(raw))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    return endpoint


__all__ = ["create_app", "Service"]
