"""Fault test of ``rnnlens serve``: misbehaving clients beside well-behaved ones.

While 24 well-behaved sequences (HTTP and shared WebSockets) run random plans, other
clients at the same time: disconnect mid-sequence (WebSockets closed with messages in
flight, HTTP requests abandoned by their client), send garbage (bad JSON, wrong
shapes, unknown ids, steps after end, oversize bodies, bad ops), and flood (one
sequence far past its pending bound, one connection past its in-flight bound, opens
past ``max_sequences``). Afterwards: every well-behaved sequence equals offline
``predict`` within 1e-6, every bad request got a 4xx (no 5xx), the server is
healthy. Run with ``-s`` to see the figures (requests tried, errors by status,
sequences exact).
"""

from __future__ import annotations

import asyncio
import collections
import json

import numpy as np
import pytest

import rnnlens
from rnnlens import layers as L

httpx = pytest.importorskip("httpx")
websockets = pytest.importorskip("websockets")
pytest.importorskip("starlette")

from rnnlens.serve import BackgroundServer, Client, ServeConfig  # noqa: E402

F = 3
GOOD = 24


@pytest.fixture(scope="module")
def model():
    rnnlens.utils.set_random_seed(11)
    return rnnlens.Sequential([rnnlens.Input((None, F)), L.LSTM(16, return_sequences=True),
                               L.LSTM(8, return_sequences=True), L.Dense(2)])


def _garbage(k: int) -> tuple[str, str, bytes]:
    """(transport, path or op, body) of the k-th bad request."""
    bodies = [
        b"{", b"[]", b"null", b'{"x": 1}', b'{"x": [[1, 2]]}', b'{"x": [[1, 2, 3], [4]]}',
        b'{"x": [["a", "b", "c"]]}', b'{"x": [[1, 2, Infinity]]}', b'{"x": [[1,2,3]], "end": 3}',
        b'{"x": [[1,2,3]], "zzz": true}', b"[" * 20000 + b"]" * 20000, b"\xff" * 64,
        b'{"x": [' + b"[1,2,3]," * 9000 + b"[1,2,3]]}",            # over 64 KiB
    ]
    body = bodies[k % len(bodies)]
    if k % 3 == 0:
        return "ws", "step", body
    path = ["/sequences/ended-0/steps", "/sequences/unknown-x/steps",
            "/sequences/good-0/steps", "/sequences/%20/steps"][k % 4]
    return "http", path, body


async def _good(send, seq_id: str, rng: np.random.Generator) -> list:
    segments, steps, outs = [], [], []
    for m in range(int(rng.integers(4, 9))):
        x = rng.normal(size=(int(rng.integers(1, 4)), F)).astype(np.float32)
        reset = m > 0 and rng.random() < 0.2
        if reset:
            segments.append((steps, outs))
            steps, outs = [], []
        answer = await send(seq_id, x.tolist(), reset)
        steps += list(x)
        outs += answer["y"]
        await asyncio.sleep(float(rng.uniform(0, 0.01)))
    segments.append((steps, outs))
    return segments


async def _chaos(server, stats: collections.Counter, ws: Client) -> None:
    """The misbehaving clients, all at once."""
    url = server.url

    async def disconnect_ws(k: int) -> None:
        async with websockets.connect(server.ws_url) as ws:
            stats["tried"] += 2
            await ws.send(json.dumps({"op": "step", "id": f"drop-{k}", "start": True,
                                      "x": [[0.1, 0.2, 0.3]] * 32}))
            await ws.send(json.dumps({"op": "step", "id": f"drop-{k}", "x": [[0.3] * 3] * 8}))
        stats["disconnected"] += 1                      # closed without reading answers

    async def disconnect_http(http, k: int) -> None:
        stats["tried"] += 1
        try:
            await http.post(f"/sequences/hdrop-{k}/steps", timeout=0.002,
                            json={"x": [[0.5, 0.5, 0.5]] * 64, "start": True})
        except httpx.TimeoutException:
            stats["disconnected"] += 1

    async def garbage(http, ws: Client, k: int) -> None:
        transport, where, body = _garbage(k)
        stats["tried"] += 1
        if transport == "http":
            status = (await http.post(where, content=body)).status_code
        else:
            try:
                obj = json.loads(body)
            except (ValueError, RecursionError):
                obj = None
            if isinstance(obj, dict):                  # addressed to a good sequence
                obj.pop("x", None) if len(body) > 60000 else None
                answer = await ws.request(where, check=False, id="good-0", **obj)
                status = answer.get("status", 200)
            else:
                await ws.send_raw(body)
                stats["ws raw"] += 1                   # answered without req: counted below
                return
        stats[f"status {status}"] += 1

    async def wrong_id(http, k: int) -> None:            # a good message, a bad id
        stats["tried"] += 1
        where = ["/sequences/ended-0/steps", "/sequences/unknown-x/steps"][k % 2]
        r = await http.post(where, json={"x": [[0.1, 0.2, 0.3]]})
        stats[f"status {r.status_code}"] += 1

    async def flood_sequence(ws: Client) -> None:
        await ws.open("flood-1")
        answers = await asyncio.gather(*[ws.step("flood-1", [[0.2, 0.1, 0.0]], check=False)
                                         for _ in range(400)])
        for a in answers:
            stats["tried"] += 1
            stats[f"status {a.get('status', 200)}"] += 1

    async def flood_opens(http) -> None:
        answers = await asyncio.gather(*[http.post("/sequences") for _ in range(300)])
        for r in answers:
            stats["tried"] += 1
            stats[f"status {r.status_code}"] += 1

    async with httpx.AsyncClient(base_url=url, timeout=30) as http, \
            Client(server.ws_url) as flood_ws:
        await http.post("/sequences", json={"id": "ended-0"})
        await http.delete("/sequences/ended-0")
        jobs = [disconnect_ws(k) for k in range(20)] + [disconnect_http(http, k)
                                                        for k in range(20)]
        jobs += [garbage(http, ws, k) for k in range(260)]
        jobs += [wrong_id(http, k) for k in range(40)]
        jobs += [flood_sequence(flood_ws), flood_opens(http)]
        await asyncio.gather(*jobs)
        await asyncio.sleep(0.2)
        for answer in ws.unmatched:                     # the raw garbage's answers
            stats[f"status {answer.get('status', 200)}"] += 1


async def _main(server, model, stats: collections.Counter) -> list:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http, \
            Client(server.ws_url) as ws:
        for k in range(GOOD):
            assert (await http.post("/sequences", json={"id": f"good-{k}"})).status_code == 201

        async def http_send(seq_id, x, reset):
            r = await http.post(f"/sequences/{seq_id}/steps", json={"x": x, "reset": reset})
            assert r.status_code == 200, r.text
            return r.json()

        async def ws_send(seq_id, x, reset):
            return await ws.step(seq_id, x, reset=reset)

        rng = np.random.default_rng(0)
        good = [_good(http_send if k % 2 else ws_send, f"good-{k}",
                      np.random.default_rng(rng.integers(2**32))) for k in range(GOOD)]
        results = await asyncio.gather(asyncio.gather(*good), _chaos(server, stats, ws))
    return results[0]


def test_misbehaving_clients_leave_others_exact(model) -> None:
    config = ServeConfig(max_sequences=300, max_pending=4, max_message_bytes=64 * 1024,
                         max_inflight_per_connection=64, batch_delay=0.002)
    stats: collections.Counter = collections.Counter()
    with BackgroundServer(model, config=config) as server:
        results = asyncio.run(_main(server, model, stats))
        health = httpx.get(server.url + "/health").json()
        metrics = server.registry.metrics
        errors = {k: v for k, v in metrics.errors.values.items()}
    exact = 0
    worst = 0.0
    for segments in results:
        diffs = [float(np.abs(np.asarray(outs, np.float32) -
                              model.predict(np.asarray(steps)[None], verbose=0)[0]).max())
                 for steps, outs in segments]
        worst = max(worst, *diffs)
        exact += all(d <= 1e-6 for d in diffs)
    server_errors = {dict(k)["status"]: int(v) for k, v in errors.items()}
    print(f"\nfault test: {stats['tried']} bad/flood/disconnect requests tried, "
          f"{stats['disconnected']} disconnects, server error answers by status "
          f"{dict(sorted(server_errors.items()))}, client-side statuses "
          f"{dict(sorted((k, v) for k, v in stats.items() if k.startswith('status')))}; "
          f"{exact}/{GOOD} well-behaved sequences exact (worst {worst:.2e})")
    assert exact == GOOD, worst
    assert health["status"] == "ok"
    assert not any(s.startswith("5") for s in server_errors), server_errors  # 499: went away
    assert not any(k.startswith("status 5") for k in stats), stats
    assert sum(v for k, v in stats.items() if k.startswith("status 4")) >= 260 + 100
    assert server_errors.get("429", 0) > 0 and server_errors.get("413", 0) > 0
    assert server_errors.get("404") == 20 and server_errors.get("410") == 20
    assert sum(server_errors.values()) >= 260
