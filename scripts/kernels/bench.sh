#!/usr/bin/env bash
# Builds the engine's C kernels (Sources/CKernels, as SwiftPM builds them) with the kernel
# micro-benchmarks and runs them on one thread: the GEMM's GFLOP/s per kernel tier, beside
# OpenBLAS and the core's FMA peak, and the small attention head's time per tier. Needs clang
# (the Swift toolchain's) and libopenblas-dev.
#   bash scripts/kernels/bench.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${TMPDIR:-/tmp}/vit-kernel-bench"
mkdir -p "$out"
sources=$(find "$root/Sources/CKernels" -name '*.c')
for bench in gemm_bench attention_bench; do
  clang ${KERNEL_CFLAGS:--O2} -I "$root/Sources/CKernels/include" $(pkg-config --cflags openblas) \
      $sources "$root/scripts/kernels/$bench.c" -o "$out/$bench" $(pkg-config --libs openblas) -lmvec -lm
done
lscpu | sed -n 's/^Model name:[[:space:]]*/CPU: /p'
# OpenBLAS with its Haswell kernels (what it runs on AVX2 CPUs, Zen included), the AVX2 tier's rival;
# the user's OPENBLAS_CORETYPE wins.
OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Haswell}" "$out/gemm_bench"
"$out/attention_bench"
