#!/usr/bin/env bash
# Resident memory of `vit serve` under the two loads of issue 26: four large PNGs at once (the
# decode budget bounds the peak) and a burst of ordinary requests (the freed memory goes back to
# the system once requests stop). Prints RSS at start, at the peak, and after each load.
#   bash scripts/serve_memory.sh [extra vit serve options, e.g. --decode-budget 400000000]
# Needs the CLI built (`swift build -c release --product vit`), curl and python3.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
vit="$root/.build/release/vit"
port="${PORT:-18080}"
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
# A 9000×9000 RGB PNG of zeros (81 megapixels, 230 KB): under the default --max-pixels.
python3 - "$work/big.png" <<'PY'
import struct, sys, zlib
w = h = 9000
raw = b"".join(b"\0" + bytes(w * 3) for _ in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
PY
"$vit" serve -m m0 --placeholder-weights --port "$port" --log-level error "$@" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "localhost:$port/healthz" > /dev/null && break; sleep 0.2; done
kill -0 "$pid" 2>/dev/null && curl -sf "localhost:$port/healthz" > /dev/null \
  || { echo "serve_memory.sh: vit serve did not start on port $port (in use? set PORT)" >&2; exit 1; }
rss() { awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$pid/status"; }
echo "start: $(rss)"
for _ in 1 2 3 4; do curl -s -o /dev/null --data-binary "@$work/big.png" "localhost:$port/v1/classify" & done
peak=0
while jobs -r | grep -q curl; do
  now=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status"); [ "$now" -gt "$peak" ] && peak=$now; sleep 0.05
done
echo "four 81-megapixel PNGs at once: peak $((peak / 1024)) MB; 2 s later $(sleep 2; rss)"
seq 600 | xargs -P 64 -I{} curl -s -o /dev/null --data-binary "@$root/Tests/ViTImagesTests/Fixtures/chelsea.jpg" \
  "localhost:$port/v1/classify"
echo "600 requests, 64 at a time: just after $(rss); 2.5 s later $(sleep 2.5; rss)"
