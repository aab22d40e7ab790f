"""Device check (not part of the test suite): PyTorch modules on a CUDA device convert.

Run on a machine with a GPU and PyTorch with CUDA::

    .venv/bin/python tests/device/check_cuda_interop.py

It imports the helpers of tests/test_torch_interop.py. The suite itself runs on CPUs
only (CI has no GPU), so this lives outside it instead of being skipped there.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_torch_interop import (GRU, U, Bidirectional, built, check, data,  # noqa: E402
                                interop, randomize, torch, torch_module)


def main() -> int:
    if torch is None or not torch.cuda.is_available():
        print("no CUDA device: nothing checked")
        return 1
    x = data(51)
    module = torch_module("lstm", 2, True, seed=51).cuda().eval()
    with torch.no_grad():
        ref = module(torch.from_numpy(x).cuda())[0].cpu().numpy()
    check(interop.from_torch(module)(x), ref, "from_torch(cuda module)", atol=1e-4)
    layer = built(Bidirectional(GRU(U, return_sequences=True)), x)
    randomize(layer, 51)
    wrapped = interop.to_torch(layer).cuda()
    with torch.no_grad():
        got = wrapped(torch.from_numpy(x).cuda()).cpu().numpy()
    check(got, layer(x), "to_torch(...).cuda()", atol=1e-4)
    print("CUDA interop: from_torch of a CUDA module and to_torch(...).cuda() match")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
