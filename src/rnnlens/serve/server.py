"""Running the application with uvicorn: in the foreground (the CLI) or on a thread.

:func:`run` blocks until Ctrl-C (``rnnlens serve``). :class:`BackgroundServer` starts
the same server on a daemon thread and returns once it accepts connections, for
tests and benchmarks::

    >>> with BackgroundServer(model, port=0) as server:     # port 0: any free port
    ...     httpx.get(server.url + "/health").json()["status"]
    'ok'
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from rnnlens.serve.sequences import ServeConfig


def _uvicorn_config(app: Any, config: ServeConfig, log_level: str, **extra: Any) -> Any:
    import uvicorn

    # No permessage-deflate: step messages are small, and zlib on every message cost
    # about a fifth of the server's CPU per step (bench_serve: ~120 -> ~90 µs/step).
    return uvicorn.Config(
        app, ws_max_size=config.max_message_bytes, ws_per_message_deflate=False,
        log_level=log_level,
        ws_ping_interval=20.0, ws_ping_timeout=20.0, timeout_keep_alive=30,
        h11_max_incomplete_event_size=64 * 1024, lifespan="on", **extra)


def set_blas_threads(threads: int) -> bool:
    """Sets the thread count of NumPy's OpenBLAS in this process; False if not found.

    A served step multiplies a few hundred rows at most; on a machine with few,
    busy cores OpenBLAS's threads then mostly wait on each other (a (343, 64) x
    (64, 256) product took 5 ms with 2 threads and 0.1 ms with 1, measured), so
    ``rnnlens serve`` runs BLAS on one thread unless told otherwise.
    """
    import ctypes

    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps
                            if "openblas" in line.lower() and ".so" in line})
    except OSError:
        return False
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_",
                     "scipy_openblas_set_num_threads", "openblas_set_num_threads"):
            setter = getattr(lib, name, None)
            if setter is not None:
                setter.argtypes = [ctypes.c_int]
                setter(int(threads))
                return True
    return False


def load(model: Any, semantics: str | None = None) -> Any:
    """A model object, or the model in a Keras file."""
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        from rnnlens.models import load_model

        return load_model(model, semantics=semantics)
    return model


def run(model: Any, host: str = "127.0.0.1", port: int = 8000,
        config: ServeConfig | None = None, log_level: str = "info",
        max_connections: int | None = None, blas_threads: int | None = 1) -> None:
    """Serves ``model`` (an object or a Keras file) until interrupted.

    ``blas_threads``: OpenBLAS threads for the model step (None: leave as is).
    """
    from rnnlens.serve import _require

    _require("uvicorn")
    import uvicorn

    from rnnlens.serve.app import create_app

    config = config or ServeConfig()
    app = create_app(load(model), config)
    if blas_threads is not None:
        set_blas_threads(blas_threads)
    server = uvicorn.Server(_uvicorn_config(app, config, log_level, host=host, port=port,
                                            limit_concurrency=max_connections))
    server.run()


class BackgroundServer:
    """The server on a daemon thread of this process (``stop()`` or ``with``).

    Args:
        model: a model object or a Keras file.
        host, port: where to listen (port 0 picks a free one; see ``url``).
        config: bounds and batching.
    """

    def __init__(self, model: Any, host: str = "127.0.0.1", port: int = 0,
                 config: ServeConfig | None = None, log_level: str = "warning"):
        from rnnlens.serve import _require

        _require("uvicorn")
        import uvicorn

        from rnnlens.serve.app import create_app

        self.config = config or ServeConfig()
        self.app = create_app(load(model), self.config)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        self.server = uvicorn.Server(_uvicorn_config(self.app, self.config, log_level))
        self._thread = threading.Thread(target=self.server.run,
                                        kwargs={"sockets": [self._sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    @property
    def registry(self) -> Any:
        return self.app.state.registry

    def start(self, timeout: float = 30.0) -> "BackgroundServer":
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("The rnnlens server did not start (see its log).")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


__all__ = ["run", "BackgroundServer", "load", "set_blas_threads"]
