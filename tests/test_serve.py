"""``rnnlens serve`` on localhost: exactness under concurrent load, and its bounds.

Property (seeded random plans against a running server): concurrent sequences over
HTTP and over shared WebSockets start, send 1-4 steps per message, reset and end at
random; every segment (open or reset to the next reset or end) equals the offline
``model.predict`` of its steps within 1e-6, and the batcher really batched (some
batch held several sequences). Then each bound and each kind of bad request gets
its 4xx with a clear message, and the other sequences' results stay exact.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import rnnlens
from rnnlens import layers as L

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("websockets")

from rnnlens.serve import BackgroundServer, Client, ServeConfig  # noqa: E402
from rnnlens.serve.client import ServerError  # noqa: E402

F = 3


def _model():
    rnnlens.utils.set_random_seed(7)
    # Explicit names: the states are keyed by layer name, and automatic names
    # ("lstm_25") depend on which tests ran before.
    return rnnlens.Sequential([rnnlens.Input((None, F)), L.Masking(0.0, name="masking"),
                               L.LSTM(16, return_sequences=True, name="lstm"),
                               L.GRU(8, return_sequences=True, name="gru"),
                               L.Dense(2, name="dense")])


@pytest.fixture(scope="module")
def model():
    return _model()


@pytest.fixture(scope="module")
def server(model):
    config = ServeConfig(batch_delay=0.002, max_sequences=200, max_pending=4)
    with BackgroundServer(model, config=config) as srv:
        yield srv


def offline(model, steps: list) -> np.ndarray:
    return model.predict(np.asarray(steps, np.float32)[None], verbose=0)[0]


async def _plan_client(send, seq_id: str, rng: np.random.Generator, model) -> list:
    """One sequence's random life; returns [(steps, outputs)] per segment."""
    segments, steps, outs = [], [], []
    start = True
    for _ in range(int(rng.integers(2, 7))):
        n = int(rng.integers(1, 5))
        x = rng.normal(size=(n, F)).astype(np.float32)
        x[rng.random(n) < 0.15] = 0.0                         # masked steps
        reset = not start and rng.random() < 0.2
        if reset:
            segments.append((steps, outs))
            steps, outs = [], []
        answer = await send(seq_id, x.tolist(), start=start, reset=reset)
        assert answer["steps"] == len(steps) + n
        steps += list(x)
        outs += answer["y"]
        start = False
        await asyncio.sleep(float(rng.uniform(0, 0.003)))
    segments.append((steps, outs))
    return segments


def _http_sender(client):
    async def send(seq_id, x, start=False, reset=False):
        r = await client.post(f"/sequences/{seq_id}/steps",
                              json={"x": x, "start": start, "reset": reset})
        assert r.status_code == 200, r.text
        return r.json()
    return send


def _ws_sender(client: Client):
    async def send(seq_id, x, start=False, reset=False):
        return await client.step(seq_id, x, start=start, reset=reset)
    return send


async def _concurrent(server, model, seed: int, n_http: int, n_ws: int) -> list:
    rng = np.random.default_rng(seed)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http, \
            Client(server.ws_url) as ws1, Client(server.ws_url) as ws2:
        jobs = []
        for k in range(n_http + n_ws):
            send = _http_sender(http) if k < n_http else _ws_sender([ws1, ws2][k % 2])
            seq_rng = np.random.default_rng(rng.integers(2**32))
            jobs.append(_plan_client(send, f"s{seed}-{k}", seq_rng, model))
        results = await asyncio.gather(*jobs)
        ends = [http.delete(f"/sequences/s{seed}-{k}") for k in range(0, n_http + n_ws, 2)]
        assert all(r.status_code == 200 for r in await asyncio.gather(*ends))
    return results


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_concurrent_sequences_equal_offline_predict(server, model, seed: int) -> None:
    before = server.registry.metrics.batch_size.counts[1:]
    results = asyncio.run(_concurrent(server, model, seed, n_http=12, n_ws=16))
    worst, segments = 0.0, 0
    for sequence in results:
        for steps, outs in sequence:
            want = offline(model, steps)
            worst = max(worst, float(np.abs(np.asarray(outs, np.float32) - want).max()))
            segments += 1
    assert worst <= 1e-6, worst
    assert segments >= 28
    after = server.registry.metrics.batch_size.counts[1:]
    assert sum(after) > sum(before), "no batch held more than one sequence"


def test_http_flow_states_and_errors(server, model) -> None:
    x = np.random.default_rng(3).normal(size=(5, F)).astype(np.float32)
    with httpx.Client(base_url=server.url) as c:
        health = c.get("/health").json()
        assert health["status"] == "ok" and health["inputs"][0]["step_shape"] == [F]
        r = c.post("/sequences", json={"id": "flow"})
        assert r.status_code == 201 and r.json()["id"] == "flow"
        assert c.post("/sequences", json={"id": "flow"}).status_code == 409
        generated = c.post("/sequences").json()["id"]
        assert len(generated) == 32 and c.delete(f"/sequences/{generated}").status_code == 200
        a = c.post("/sequences/flow/steps", json={"x": x[:2].tolist(), "states": True}).json()
        assert set(a["states"]) == {"lstm", "gru"} and set(a["states"]["lstm"]) == {"h", "c"}
        assert np.asarray(a["states"]["gru"]["h"]).shape == (2, 8)
        b = c.post("/sequences/flow/steps", json={"x": x[2:].tolist()}).json()
        np.testing.assert_allclose(np.asarray(a["y"] + b["y"], np.float32), offline(model, x),
                                   atol=1e-6, rtol=0)
        assert c.get("/sequences/flow").json()["steps"] == 5
        assert c.post("/sequences/flow/reset").json()["steps"] == 0
        r = c.post("/sequences/flow/steps", json={"x": x[:1].tolist(), "end": True}).json()
        np.testing.assert_allclose(r["y"], offline(model, x[:1]), atol=1e-6, rtol=0)
        assert r["ended"] is True
        cases = [
            (c.post("/sequences/flow/steps", json={"x": [[1, 2, 3]]}), 410, "has ended"),
            (c.post("/sequences/nope/steps", json={"x": [[1, 2, 3]]}), 404, "Unknown sequence"),
            (c.post("/sequences/a b/steps", json={"x": [[1, 2, 3]]}), 400, "Sequence ids"),
            (c.post("/sequences/new/steps", content=b"{not json"), 400, "Malformed JSON"),
            (c.post("/sequences/new/steps", json=[1]), 400, "JSON object"),
            (c.post("/sequences/new/steps", json={"x": [[1, 2]], "start": True}), 422,
             "steps of shape (3,)"),
            (c.post("/sequences/new/steps", json={"x": [[1, 2, "a"]], "start": True}), 422,
             "expected numbers"),
            (c.post("/sequences/new/steps", json={"x": [[1, 2, 3], [1]], "start": True}), 422,
             "ragged"),
            (c.post("/sequences/new/steps", json={"x": [], "start": True}), 422, "non-empty"),
            (c.post("/sequences/new/steps", content=b'{"x": [[1, 2, NaN]], "start": true}'),
             422, "NaN"),
            (c.post("/sequences/new/steps", json={"x": [[1, 2, 3]], "start": 1}), 400,
             "true or false"),
            (c.post("/sequences/new/steps", json={"x": [[1, 2, 3]], "bogus": 1}), 400,
             "Unknown field"),
            (c.post("/sequences/new/steps", json={"x": [[0.0] * F] * 1025, "start": True}), 413,
             "over the limit"),
            (c.delete("/sequences/never"), 404, "Unknown sequence"),
        ]
        for response, status, text in cases:
            assert response.status_code == status, response.text
            assert text in response.json()["error"]
        assert c.get("/sequences/new").status_code == 404          # no bad message opened it
    metrics = httpx.get(server.url + "/metrics").text
    assert 'rnnlens_serve_errors_total{status="422"}' in metrics
    assert "rnnlens_serve_step_latency_seconds_count" in metrics


def test_websocket_errors_keep_the_connection(server, model) -> None:
    async def main():
        x = np.random.default_rng(4).normal(size=(3, F)).astype(np.float32)
        async with Client(server.ws_url) as c:
            first = await c.step("ws-a", x[:1].tolist(), start=True)
            await c.send_raw("garbage")
            await c.send_raw(b"\x00\xff")
            bad = [await c.request("fly", check=False),
                   await c.request("step", check=False, id="ws-a", x=[[1]]),
                   await c.request("step", check=False, id="ws-zz", x=[[1, 2, 3]]),
                   await c.request("end", check=False, id="ws-a", extra=1),
                   await c.request("step", check=False, x=[[1, 2, 3]])]
            assert [b["status"] for b in bad] == [400, 422, 404, 400, 400]
            rest = await c.step("ws-a", x[1:].tolist(), end=True)
            got = np.asarray(first["y"] + rest["y"], np.float32)
            np.testing.assert_allclose(got, offline(model, x), atol=1e-6, rtol=0)
            with pytest.raises(ServerError) as info:
                await c.step("ws-a", x[:1].tolist())
            assert info.value.status == 410
    asyncio.run(main())


def test_per_sequence_queue_is_bounded(server) -> None:
    async def main():
        async with Client(server.ws_url) as c:
            await c.open("busy")
            many = [c.step("busy", [[0.1, 0.2, 0.3]] * 64, check=False) for _ in range(12)]
            answers = await asyncio.gather(*many)
            statuses = [a.get("status", 200) for a in answers]
            assert 429 in statuses and 200 in statuses and set(statuses) <= {200, 429}
            steps = [a["steps"] for a in answers if a.get("ok")]
            assert sorted(steps) == [64 * (k + 1) for k in range(len(steps))]   # in order
            await c.end("busy")
    asyncio.run(main())


def test_bounds_max_sequences_idle_eviction_and_size(model) -> None:
    config = ServeConfig(max_sequences=3, idle_timeout=0.3, max_message_bytes=2000,
                         max_steps_per_message=16)
    with BackgroundServer(model, config=config) as srv, httpx.Client(base_url=srv.url) as c:
        for k in range(3):
            assert c.post("/sequences", json={"id": f"b{k}"}).status_code == 201
        full = c.post("/sequences", json={"id": "b3"})
        assert full.status_code == 429 and "maximum of 3" in full.json()["error"]
        assert c.delete("/sequences/b0").status_code == 200
        assert c.post("/sequences", json={"id": "b3"}).status_code == 201
        big = c.post("/sequences/b3/steps", content=b'{"x": [' + b"1," * 1500 + b"1]}")
        assert big.status_code == 413 and "limit of 2000" in big.json()["error"]
        time.sleep(1.2)
        gone = c.post("/sequences/b3/steps", json={"x": [[1, 2, 3]]})
        assert gone.status_code == 410 and "evicted" in gone.json()["error"]
        assert c.get("/health").json()["live_sequences"] == 0
        assert 'rnnlens_serve_sequences_closed_total{reason="evicted"} 3' in \
            c.get("/metrics").text

        async def oversized():
            import websockets

            async with websockets.connect(srv.ws_url) as ws:
                await ws.send(json.dumps({"op": "open", "x": "a" * 5000}))
                with pytest.raises(websockets.ConnectionClosed) as info:
                    await ws.recv()
                assert info.value.rcvd.code == 1009              # message too big
        asyncio.run(oversized())
        assert c.get("/health").status_code == 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_serves_a_model_file(model, tmp_path) -> None:
    path = tmp_path / "m.keras"
    model.save(path)
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "rnnlens", "serve", str(path), "--port",
                             str(port), "--log-level", "warning", "--batch-delay-ms", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60                 # generous: CI machines are busy
        while True:
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "the server did not start in 60 s"
                time.sleep(0.05)
        x = np.random.default_rng(6).normal(size=(4, F)).astype(np.float32)
        r = httpx.post(url + "/sequences/cli/steps", json={"x": x.tolist(), "start": True})
        np.testing.assert_allclose(r.json()["y"], offline(model, x), atol=1e-6, rtol=0)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    bad = tmp_path / "bi.keras"
    rnnlens.Sequential([rnnlens.Input((None, F)), L.Bidirectional(L.LSTM(2))]).save(bad)
    done = subprocess.run([sys.executable, "-m", "rnnlens", "serve", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Bidirectional" in done.stderr


def test_websocket_messages_are_not_compressed(server) -> None:
    """permessage-deflate is declined: zlib per small step message costs more than it
    saves (bench_serve), so a client that offers it gets plain frames."""
    async def main():
        import websockets

        async with websockets.connect(server.ws_url, compression="deflate") as ws:
            assert ws.protocol.extensions == []
            assert "permessage-deflate" not in str(ws.response.headers)
            await ws.send(json.dumps({"op": "info", "id": "none", "req": 1}))
            assert json.loads(await ws.recv())["req"] == 1
    asyncio.run(main())
