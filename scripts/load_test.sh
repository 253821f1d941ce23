#!/usr/bin/env bash
# Load test of `vit serve` on loopback with wrk (Debian's `wrk`; installed here if missing):
# throughput and p50/p99 latency at 1, 8 and 64 concurrent clients, with dynamic batching
# (--max-batch 16) and without (--max-batch 1), the server's RSS before and after, every answer's
# status, and a check that no request was lost (every request wrk sent was answered) and that no
# 5xx other than 503 occurred. Bounded in time: (warm-up + clients × duration) per mode.
#
#   bash scripts/load_test.sh [--duration 10] [--clients "1 8 64"] [--model m0] [--max-batch 16]
#                             [--max-wait-ms 2] [--weights FILE | --placeholder] [--image FILE]
#                             [--output FILE.md]
#
# Default weights: the test fixture (random weights; speed does not depend on weight values).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10
clients="1 8 64"
model=m0
weights=Tests/ViTEngineTests/Fixtures/pth/m0_cream_f16.pth
placeholder=0
image=Tests/ViTImagesTests/Fixtures/chelsea.jpg
output=""
max_batch=16
max_wait_ms=2
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --weights) weights=$2; shift 2 ;;
    --placeholder) placeholder=1; shift ;;
    --image) image=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    --max-batch) max_batch=$2; shift 2 ;;
    --max-wait-ms) max_wait_ms=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

command -v wrk >/dev/null || apt-get install -y --no-install-recommends wrk >/dev/null
swift build -c release --static-swift-stdlib --product vit >&2
vit=$(swift build -c release --show-bin-path)/vit
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -TERM "$server_pid"; wait "$server_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# wrk: POST the image; count every status; print p50/p99 in ms.
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
local f = assert(io.open("$image", "rb")); wrk.body = f:read("*a"); f:close()
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do total[code] = (total[code] or 0) + n end
  end
  for code, n in pairs(total) do io.write(string.format("status %d %d\n", code, n)) end
  io.write(string.format("p50_ms %.2f\np99_ms %.2f\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
  io.write(string.format("errors %d\n", summary.errors.connect + summary.errors.read + summary.errors.write
                                       + summary.errors.timeout))
end
LUA

rss_mb() { awk -v key="$2" '$1 == key":" { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
# Responses the server has written for /v1/classify, all statuses (from /metrics).
served() {
  curl -s "http://127.0.0.1:$1/metrics" \
    | awk '/^vit_http_requests_total\{endpoint="\/v1\/classify"/ { n += $2 } END { printf "%d", n }'
}

weights_args=(--weights "$weights")
[ "$placeholder" = 1 ] && weights_args=(--placeholder-weights)
table="| mode | clients | req/s | p50 ms | p99 ms | answers (status: count) | sent, not answered | answered by server |
|---|---|---|---|---|---|---|---|"
memory="| mode | RSS before load MB | RSS after MB | peak RSS MB | batches run (warm-up included) | mean batch size |
|---|---|---|---|---|---|"
for mode in "batching (--max-batch $max_batch):$max_batch" "no batching (--max-batch 1):1"; do
  label=${mode%%:*}; batch=${mode##*:}
  "$vit" serve --model "$model" "${weights_args[@]}" --port 0 --max-batch "$batch" --max-wait-ms "$max_wait_ms" \
    --max-queue 256 --log-level warning > "$work/serve.out" 2> "$work/serve.err" &
  server_pid=$!
  for _ in $(seq 1 300); do grep -q listening "$work/serve.out" && break; sleep 0.1; done
  port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/serve.out")
  [ -n "$port" ] || { cat "$work/serve.err" >&2; exit 1; }
  url="http://127.0.0.1:$port/v1/classify"
  rss_before=$(rss_mb "$server_pid" VmRSS)
  wrk -t2 -c8 -d2s -s "$work/post.lua" "$url" > /dev/null   # warm-up: sessions planned, caches filled
  sleep 1
  for c in $clients; do
    before=$(served "$port")
    wrk -t$(( c < 2 ? 1 : 2 )) -c"$c" -d"${duration}s" --timeout 30s --latency -s "$work/post.lua" "$url" > "$work/wrk.txt"
    sleep 1   # requests in flight when wrk stopped are answered (and counted) by now
    after=$(served "$port")
    rps=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' "$work/wrk.txt")
    p50=$(awk '/^p50_ms/ { print $2 }' "$work/wrk.txt")
    p99=$(awk '/^p99_ms/ { print $2 }' "$work/wrk.txt")
    statuses=$(awk '/^status/ { printf "%s%s: %s", sep, $2, $3; sep = ", " }' "$work/wrk.txt")
    errors=$(awk '/^errors/ { print $2 }' "$work/wrk.txt")
    bad=$(awk '/^status/ && $2 >= 500 && $2 != 503 { n += $3 } END { print n + 0 }' "$work/wrk.txt")
    [ "$bad" = 0 ] || echo "FAIL: $bad answers with a 5xx other than 503 ($label, $c clients)" >&2
    [ "$errors" = 0 ] || echo "FAIL: $errors requests sent but not answered ($label, $c clients)" >&2
    table+="
| $label | $c | $rps | $p50 | $p99 | $statuses | $errors | $((after - before)) |"
  done
  batches=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^vit_batch_size_count/ { c = $2 } /^vit_batch_size_sum/ { s = $2 }
    END { printf "%d | %.2f", c, (c > 0 ? s / c : 0) }')
  memory+="
| $label | $rss_before | $(rss_mb "$server_pid" VmRSS) | $(rss_mb "$server_pid" VmHWM) | $batches |"
  kill -TERM "$server_pid"; wait "$server_pid"; server_pid=""
done

report="Command: \`bash scripts/load_test.sh --duration $duration --clients \"$clients\" --max-batch $max_batch --max-wait-ms $max_wait_ms\`
($(date -u +%Y-%m-%d), $(nproc) CPUs, model $model, image $(basename "$image"), release build; wrk -t2 --timeout 30s on
the same machine; server --max-queue 256, default workers and threads). \"answered by server\" counts /v1/classify
answers in the server's metrics: wrk's answers plus the requests still in flight when wrk stopped (at most one per client).

$table

$memory"
echo "$report"
[ -z "$output" ] || echo "$report" > "$output"
