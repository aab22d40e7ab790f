"""``rnnlens predict FILE INPUT``: run a Keras model file on arrays.

``.npy`` / ``.npz`` inputs run in this process and write an ``.npz``. A Zarr input
or output (``INPUT.zarr``, ``-o OUT.zarr``) or ``--scheduler`` goes the Dask way
(:mod:`rnnlens.distributed.cli`): chunks along samples run in parallel on the
scheduler at ADDRESS, or on a local cluster of ``--workers`` processes, with a
progress bar, and the outputs go to a Zarr group.
"""

from __future__ import annotations

import argparse
import sys

from rnnlens.commands._args import positive


def register(sub: argparse._SubParsersAction) -> None:
    predict = sub.add_parser(
        "predict", help="run a Keras model file on a .npy / .npz / .zarr input",
        description="Runs the model on INPUT (.npy for one input, .npz with one array per "
                    "input name) in batches, and writes the outputs to an .npz. A Zarr "
                    "input or output (INPUT.zarr, -o OUT.zarr) or --scheduler runs on Dask "
                    "(pip install 'rnnlens[dask]'): chunks along samples in parallel, a "
                    "local cluster without --scheduler, one Zarr array per output.")
    predict.add_argument("file")
    predict.add_argument("input")
    predict.add_argument("-o", "--output", help="write the outputs to this .npz or .zarr")
    predict.add_argument("--batch-size", type=positive, default=32)
    predict.add_argument("--semantics", help="as for inspect")
    predict.add_argument("--scheduler", metavar="ADDRESS",
                         help="Dask scheduler address (e.g. tcp://host:8786); default: a "
                              "local cluster")
    predict.add_argument("--workers", type=positive,
                         help="worker processes of the local cluster (default: cores, at "
                              "most 4)")
    predict.add_argument("--chunk-size", type=positive,
                         help="samples per Dask chunk (default: the Zarr chunks; about 64 "
                              "MiB for .npy)")
    predict.add_argument("--no-progress", action="store_true",
                         help="no progress bar on Dask")


def run(args: argparse.Namespace) -> int:
    try:
        from rnnlens.distributed.cli import wants_dask

        if wants_dask(args.input, args.output, args.scheduler):
            from rnnlens.distributed.cli import predict as dask_predict

            return dask_predict(args.file, args.input, args.output, args.batch_size,
                                args.semantics, args.scheduler, args.workers,
                                args.chunk_size, progress=not args.no_progress)
        from rnnlens import inspect_cmd

        return inspect_cmd.predict(args.file, args.input, args.output, args.batch_size,
                                   args.semantics)
    except (ValueError, TypeError, ImportError) as err:
        print(f"rnnlens predict: {err}", file=sys.stderr)
        return 1
