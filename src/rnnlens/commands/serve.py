"""``rnnlens serve MODEL [--port N]``: serve a model to live sequences over HTTP and WebSocket.

See :mod:`rnnlens.serve` (pip install 'rnnlens[serve]').
"""

from __future__ import annotations

import argparse
import sys

from rnnlens.commands._args import positive


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds >= 0, got {text}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser(
        "serve", help="serve a model to live sequences (HTTP + WebSocket)",
        description="Keeps each sequence's recurrent states between messages and batches "
                    "concurrent sequences' steps into one model step (pip install "
                    "'rnnlens[serve]'). Endpoints: POST /sequences, POST "
                    "/sequences/ID/steps {\"x\": [steps], \"states\": bool, \"reset\": "
                    "bool, \"end\": bool, \"start\": bool}, POST /sequences/ID/reset, "
                    "DELETE /sequences/ID, GET /health, GET /metrics, WS /ws.")
    serve.add_argument("file", help="a Keras model file (.keras / .h5)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="interface to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--semantics", help="as for inspect")
    serve.add_argument("--max-sequences", type=positive, default=10000,
                       help="live sequences at most (default 10000)")
    serve.add_argument("--idle-timeout", type=_seconds, default=300.0,
                       help="evict sequences idle this many seconds (default 300)")
    serve.add_argument("--batch-delay-ms", type=_seconds, default=2.0,
                       help="how long the batcher waits for more sequences' steps "
                            "(default 2 ms)")
    serve.add_argument("--max-batch", type=positive, default=1024,
                       help="sequences stepped together at most (default 1024)")
    serve.add_argument("--max-message-bytes", type=positive, default=1 << 20,
                       help="largest request body / WebSocket message (default 1 MiB)")
    serve.add_argument("--max-steps", type=positive, default=1024,
                       help="time steps per message at most (default 1024)")
    serve.add_argument("--max-connections", type=positive, default=None,
                       help="concurrent connections at most (default: no limit)")
    serve.add_argument("--blas-threads", type=positive, default=1,
                       help="OpenBLAS threads for the batched step (default 1: small "
                            "products on few cores run fastest on one)")
    serve.add_argument("--log-level", default="info",
                       choices=["critical", "error", "warning", "info", "debug"])


def run(args: argparse.Namespace) -> int:
    try:
        from rnnlens.serve import _require
        from rnnlens.serve.sequences import ServeConfig
        from rnnlens.serve.server import load

        _require("starlette")
        _require("uvicorn")
        config = ServeConfig(
            max_sequences=args.max_sequences, idle_timeout=args.idle_timeout,
            batch_delay=args.batch_delay_ms / 1000.0, max_batch=args.max_batch,
            max_message_bytes=args.max_message_bytes, max_steps_per_message=args.max_steps)
        model = load(args.file, semantics=args.semantics)
        from rnnlens.serve.server import run as serve_run

        serve_run(model, host=args.host, port=args.port, config=config,
                  log_level=args.log_level, max_connections=args.max_connections,
                  blas_threads=args.blas_threads)
        return 0
    except (ValueError, TypeError, ImportError, OSError) as err:
        print(f"rnnlens serve: {err}", file=sys.stderr)
        return 1
