"""numpy (OpenBLAS) side of bench/gemm.ts: times float32 matmul at the shapes given on stdin.

stdin:  {"shapes": [{"name", "M", "N", "K", "transA", "transB"}], "minTime": seconds}
stdout: {"numpy": version, "config": OpenBLAS build info, "gflops": {name: median GFLOP/s}}

The caller sets OPENBLAS_NUM_THREADS (and OPENBLAS_CORETYPE where appropriate) before this
process imports numpy: OpenBLAS reads them once, at load. Transposed operands are .T views of
the stored matrix, so OpenBLAS runs a transposed GEMM rather than numpy copying first; C is
preallocated (out=), as tetra's C is.
"""
import json
import sys
import time

import numpy as np


def bench(shape, min_time):
    M, N, K = shape["M"], shape["N"], shape["K"]
    rng = np.random.default_rng(0)
    a = rng.standard_normal((K, M) if shape["transA"] else (M, K), dtype=np.float32)
    b = rng.standard_normal((N, K) if shape["transB"] else (K, N), dtype=np.float32)
    a = a.T if shape["transA"] else a
    b = b.T if shape["transB"] else b
    c = np.empty((M, N), dtype=np.float32)
    flops = 2.0 * M * N * K
    # Warm up (thread pool, caches) for ~10% of the budget, then time calls in groups big
    # enough that the clock's resolution does not matter.
    t0 = time.perf_counter()
    calls = 0
    while time.perf_counter() - t0 < min_time * 0.1 or calls < 3:
        np.matmul(a, b, out=c)
        calls += 1
    per_call = (time.perf_counter() - t0) / calls
    group = max(1, int(2e-3 / per_call))
    samples = []
    t_end = time.perf_counter() + min_time
    while time.perf_counter() < t_end or len(samples) < 5:
        t = time.perf_counter()
        for _ in range(group):
            np.matmul(a, b, out=c)
        samples.append((time.perf_counter() - t) / group)
    samples.sort()
    return flops / samples[len(samples) // 2] / 1e9


def main():
    spec = json.load(sys.stdin)
    out = {"numpy": np.__version__, "gflops": {}}
    for s in spec["shapes"]:
        out["gflops"][s["name"]] = bench(s, spec["minTime"])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
