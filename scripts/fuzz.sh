#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer with AddressSanitizer, from the Swift toolchain) of what a
# user or a client hands the engine: weights files (safetensors; PyTorch zip + pickle; format
# detection; the loader with every tensor decoded), uploaded images (JPEG, PNG, preprocessing),
# upload bodies (Content-Type and multipart/form-data) and .npy tensors. Fuzz/README.md keeps
# the record of runs.
# Builds the Fuzz/ package, seeds each target with the test fixtures, runs each for SECONDS, and
# fails if libFuzzer reports a crash, a sanitizer error, a timeout (10 s an input) or more than
# 2 GB of memory; a finding is kept under $OUT/findings/<target>/ to replay:
#   $BUILD/debug/FuzzWeights <file>
#   bash scripts/fuzz.sh [SECONDS]        (default 60 per target; CI runs 10)
#   FUZZ_RUNS=1000000 FUZZ_CONFIGURATION=release bash scripts/fuzz.sh 3600
#       (stop each target after that many inputs; optimized, about 5× the inputs per second, but
#       a longer build: CI uses the debug build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
out="${TMPDIR:-/tmp}/vit-fuzz"
build="$out/build"
mkdir -p "$out"
configuration="${FUZZ_CONFIGURATION:-debug}"
# -enable-testing: FuzzMultipart reaches the server's internal upload parser (debug builds have it anyway).
swift build -c "$configuration" --package-path "$root/Fuzz" --scratch-path "$build" -Xswiftc -enable-testing \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xcc -fsanitize=fuzzer-no-link,address 2>&1 \
  | grep -v "Cannot export local symbol" || true
bin="$build/$configuration"
targets="FuzzWeights:weights FuzzSafeTensors:safetensors FuzzPickle:pickle FuzzImages:images FuzzMultipart:multipart FuzzNPY:npy"
for target in $targets; do
  [ -x "$bin/${target%%:*}" ] || { echo "fuzz.sh: the fuzz target ${target%%:*} did not build" >&2; exit 1; }
done

# Seeds: the fixtures (kept between runs with what the fuzzer found), and a small safetensors file.
mkdir -p "$out/corpus/weights" "$out/corpus/safetensors" "$out/corpus/pickle" "$out/corpus/images" "$out/corpus/multipart" \
         "$out/corpus/npy"
cp "$root"/Tests/ViTEngineTests/Fixtures/pth/tiny_timm.pth "$root"/Tests/ViTEngineTests/Fixtures/pth/tiny_timm_zip64.pth \
   "$root"/Tests/ViTEngineTests/Fixtures/pth/evil_os_system.pth "$out/corpus/weights/"
header='{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]}}'
while [ $(( ${#header} % 8 )) -ne 0 ]; do header="$header "; done
{ printf "$(printf '\\x%02x' $(( ${#header} & 255 )) $(( ${#header} >> 8 )) 0 0 0 0 0 0)"; printf '%s' "$header"; head -c 12 /dev/zero; } \
  > "$out/corpus/weights/small.safetensors"
cp "$out/corpus/weights/small.safetensors" "$out/corpus/safetensors/"
# The pickles of the real torch.save fixtures (FuzzPickle wraps each input in a fresh archive).
python3 - "$root/Tests/ViTEngineTests/Fixtures/pth" "$out/corpus/pickle" <<'PY'
import os, sys, zipfile
src, dst = sys.argv[1:]
for name in ("tiny_timm.pth", "tiny_timm_zip64.pth", "evil_os_system.pth", "evil_builtins_eval.pth"):
    with zipfile.ZipFile(os.path.join(src, name)) as z:
        pkl = next(n for n in z.namelist() if n.endswith("/data.pkl"))
        open(os.path.join(dst, name + ".pkl"), "wb").write(z.read(pkl))
PY
for image in bilevel.png gray16.png palette4_interlaced.png ycck.jpg gray.jpg chelsea.jpg; do
  cp "$root/Tests/ViTImagesTests/Fixtures/$image" "$out/corpus/images/"
done
# An upload: the Content-Type on the first line, then the body.
crlf=$'\r\n'
{ printf 'multipart/form-data; boundary=XyZ\n--XyZ%sContent-Disposition: form-data; name="image"; filename="a.png"%s' "$crlf" "$crlf"
  printf 'Content-Type: image/png%s%s' "$crlf" "$crlf"; cat "$root/Tests/ViTImagesTests/Fixtures/bilevel.png"
  printf '%s--XyZ%sContent-Disposition: form-data; name="note"%s%shello%s--XyZ--%s' "$crlf" "$crlf" "$crlf" "$crlf" "$crlf" "$crlf"
} > "$out/corpus/multipart/two-parts"
printf 'image/jpeg\n' | cat - "$root/Tests/ViTImagesTests/Fixtures/gray.jpg" > "$out/corpus/multipart/raw-body"
cp "$root"/Tests/ViTEngineTests/Fixtures/m0_224_b2.logits.npy "$root"/Tests/ViTEngineTests/Fixtures/m1_320x224_b1.logits.npy \
   "$out/corpus/npy/"

status=0
for target in $targets; do
  name="${target%%:*}" corpus="$out/corpus/${target##*:}"
  findings="$out/findings/$name"
  mkdir -p "$findings"
  echo "== $name, $seconds s"
  if ! "$bin/$name" "$corpus" -max_total_time="$seconds" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
        -artifact_prefix="$findings/" -print_final_stats=1 2> "$out/$name.log"; then
    status=1
    echo "fuzz.sh: $name found a problem; see $out/$name.log and $findings/" >&2
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^Done" "$out/$name.log" || true
done
exit $status
