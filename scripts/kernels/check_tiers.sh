#!/usr/bin/env bash
# Checks the C kernels' instruction-set tiers against the portable tier, here and for AArch64:
#   (a) builds scripts/kernels/tier_check.c with Sources/CKernels for this machine and runs it
#       (x86-64: avx512 and avx2 vs portable, as far as the CPU has them; AArch64: neon), and
#       erf_sweep.c (templates/math.h's erf, with and without FMA on x86-64);
#   (b) on x86-64, builds both for aarch64-linux-gnu and runs them under qemu-aarch64 (neon vs
#       portable, the NEON erf);
#   (c) compiles every C file of CKernels, CEngineSupport, CImageDecoders and CDownload with
#       -Wall -Werror for aarch64 and for this machine (-fsyntax-only).
# Exits nonzero on any failure or missing tool. Needs clang (CLANG=…; the Swift toolchain's
# does), and for (b) and (c) on x86-64 the Debian packages qemu-user, gcc-aarch64-linux-gnu and
# libc6-dev-arm64-cross; libopenblas-dev, libjpeg62-turbo-dev, libpng-dev and
# libcurl4-openssl-dev give (c) its headers (their few arch-specific ones are taken from this
# machine's: they only need to parse). ERF_EVERY_FLOAT=1 sweeps erf over every float (~1 min a
# build natively; not under qemu).
#   bash scripts/kernels/check_tiers.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${TMPDIR:-/tmp}/vit-tier-check"
mkdir -p "$out"

fail() { echo "check_tiers: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || fail "$1 not found: $2"; }

CLANG="${CLANG:-$(command -v clang || echo /opt/swift/usr/bin/clang)}"
[ -x "$CLANG" ] || fail "clang not found: set CLANG= or put the Swift toolchain's usr/bin on PATH"
host="$(uname -m)"
case "$host" in
  x86_64) host_libs=(-lmvec -lm) ;;  # the x86 tiers' erf is glibc's libmvec
  aarch64) host_libs=(-lm) ;;
  *) fail "no kernel tiers besides portable for $host" ;;
esac
kernels=$(find "$root/Sources/CKernels" -name '*.c' | sort)
cflags=(-O2 -fno-math-errno -Wall -Werror -I "$root/Sources/CKernels/include")
sweep="$root/scripts/kernels/erf_sweep.c"
sweep_args=()
[ "${ERF_EVERY_FLOAT:-0}" = 1 ] && sweep_args=(--every-float)
failures=0
run() {  # run LABEL COMMAND…: runs it, counts a failure without stopping
  echo "== $1"
  shift
  "$@" || { echo "FAILED: $*"; failures=$((failures + 1)); }
}

# (a) this machine
"$CLANG" "${cflags[@]}" $kernels "$root/scripts/kernels/tier_check.c" -o "$out/tier_check" "${host_libs[@]}"
run "tiers on this $host CPU" "$out/tier_check"
if [ "$host" = x86_64 ]; then
  "$CLANG" "${cflags[@]}" "$sweep" -o "$out/erf_sweep" -lm
  "$CLANG" "${cflags[@]}" -march=x86-64-v3 "$sweep" -o "$out/erf_sweep_fma" -lm
  run "erf, portable tier, x86-64 baseline (no FMA)" "$out/erf_sweep" "${sweep_args[@]}"
  if grep -qw fma /proc/cpuinfo; then run "erf, portable tier, x86-64-v3 (FMA)" "$out/erf_sweep_fma" "${sweep_args[@]}"; fi
else
  "$CLANG" "${cflags[@]}" "$sweep" -o "$out/erf_sweep" -lm
  run "erf, neon tier" "$out/erf_sweep" "${sweep_args[@]}"
fi

# (b) AArch64 under qemu, from x86-64
arm=(--target=aarch64-linux-gnu)
if [ "$host" = x86_64 ]; then
  need qemu-aarch64 "apt-get install qemu-user"
  sysroot=/usr/aarch64-linux-gnu
  [ -f "$sysroot/include/stdio.h" ] || fail "no AArch64 C library in $sysroot: apt-get install libc6-dev-arm64-cross"
  ls /usr/lib/gcc-cross/aarch64-linux-gnu/*/libgcc.a >/dev/null 2>&1 \
    || fail "no AArch64 libgcc and linker: apt-get install gcc-aarch64-linux-gnu"
  "$CLANG" "${arm[@]}" "${cflags[@]}" $kernels "$root/scripts/kernels/tier_check.c" -o "$out/tier_check.aarch64" -lm
  "$CLANG" "${arm[@]}" "${cflags[@]}" "$sweep" -o "$out/erf_sweep.aarch64" -lm
  run "tiers on AArch64 (qemu-aarch64)" qemu-aarch64 -L "$sysroot" "$out/tier_check.aarch64"
  run "erf, neon tier (qemu-aarch64)" qemu-aarch64 -L "$sysroot" "$out/erf_sweep.aarch64"
fi

# (c) every C file of the C targets, for AArch64 and for this machine. For AArch64 the few
# arch-specific headers of the system libraries (libjpeg's jconfig.h, OpenBLAS's cblas.h and
# openblas_config.h, curl/) come from this machine's multiarch directory, searched after the
# AArch64 C library's own headers.
shim="$out/headers"
rm -rf "$shim"
mkdir -p "$shim"
for name in jconfig.h cblas.h openblas_config.h curl; do
  if [ -e "/usr/include/$host-linux-gnu/$name" ]; then ln -s "/usr/include/$host-linux-gnu/$name" "$shim/$name"; fi
done
includes=()
for target in CKernels CEngineSupport CImageDecoders CDownload; do includes+=(-I "$root/Sources/$target/include"); done
after=(-idirafter "$shim" -idirafter /usr/include -idirafter /usr/include/libpng16)
targets=("$host-linux-gnu")
[ "$host" = aarch64 ] || targets+=(aarch64-linux-gnu)
for target in "${targets[@]}"; do
  echo "== -Wall -Werror -fsyntax-only for $target"
  for file in $(find "$root/Sources/CKernels" "$root/Sources/CEngineSupport" "$root/Sources/CImageDecoders" \
                     "$root/Sources/CDownload" -name '*.c' | sort); do
    if ! "$CLANG" --target="$target" -O2 -fno-math-errno -Wall -Werror -fsyntax-only "${includes[@]}" "${after[@]}" "$file"; then
      echo "FAILED: $target ${file#"$root"/}"
      failures=$((failures + 1))
    fi
  done
  echo "   $(find "$root/Sources/CKernels" "$root/Sources/CEngineSupport" "$root/Sources/CImageDecoders" \
                 "$root/Sources/CDownload" -name '*.c' | wc -l) files checked"
done

if [ "$failures" -ne 0 ]; then
  echo "check_tiers: $failures failure(s)"
  exit 1
fi
echo "check_tiers: all passed"
