#!/usr/bin/env bash
# Builds the engine's C kernels (Sources/CKernels, as SwiftPM builds them) with the GEMM
# micro-benchmark and runs it on one thread: GFLOP/s per kernel tier, beside OpenBLAS and the
# core's FMA peak. Needs clang (the Swift toolchain's) and libopenblas-dev.
#   bash scripts/kernels/bench.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${TMPDIR:-/tmp}/vit-kernel-bench"
mkdir -p "$out"
sources=$(find "$root/Sources/CKernels" -name '*.c')
clang -O3 -fno-math-errno -I "$root/Sources/CKernels/include" $(pkg-config --cflags openblas) \
    $sources "$root/scripts/kernels/gemm_bench.c" -o "$out/gemm_bench" $(pkg-config --libs openblas) -lmvec -lm
lscpu | sed -n 's/^Model name:[[:space:]]*/CPU: /p'
# OpenBLAS with its Haswell kernels (what it runs on AVX2 CPUs, Zen included), the AVX2 tier's rival;
# the user's OPENBLAS_CORETYPE wins.
OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Haswell}" "$out/gemm_bench"
