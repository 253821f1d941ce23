#!/usr/bin/env bash
# Builds and runs Examples/Consumer, a package of a user's own that depends on this engine by
# version through git (`.package(url:from:)`), the way every other package would: a scratch clone
# of this checkout's committed HEAD, tagged with the version the consumer asks for, is its
# dependency. Runs the two programs: Classify (the README's library code) and EmbeddedServer
# (the engine in a Hummingbird app, asked over HTTP, then stopped with SIGTERM). CI runs this.
#   bash scripts/consumer.sh [debug|release]     (debug: quicker to build; release: full speed)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
config="${1:-debug}"
scratch="${TMPDIR:-/tmp}/vit-consumer"
# The version the consumer depends on, read from its manifest so that it is written once.
version=$(sed -n 's/.*\.package(url: engineURL, from: "\([0-9][0-9.]*\)").*/\1/p' "$root/Examples/Consumer/Package.swift")
[ -n "$version" ] || { echo "consumer.sh: no '.package(url: engineURL, from: \"X.Y.Z\")' in Examples/Consumer/Package.swift" >&2; exit 1; }
if [ -n "$(git -C "$root" status --porcelain -- Sources Package.swift)" ]; then
  echo "consumer.sh: note: uncommitted changes under Sources/ or in Package.swift are not in the tagged clone" >&2
fi

# The engine as a versioned git dependency: a clone of HEAD whose only tag is $version.
rm -rf "$scratch/ViTEngine"
mkdir -p "$scratch"
git clone --quiet --no-hardlinks "$root" "$scratch/ViTEngine"
git -C "$scratch/ViTEngine" tag -l | xargs -r git -C "$scratch/ViTEngine" tag -d >/dev/null
git -C "$scratch/ViTEngine" tag "$version"

# The consumer outside the repository (its .build and Package.resolved stay in the scratch
# folder); dependency state from an earlier run is dropped, so the tag just made is resolved.
rm -rf "$scratch/Consumer/Sources" "$scratch/Consumer/Package.resolved" "$scratch/Consumer/.build/checkouts/ViTEngine" \
       "$scratch"/Consumer/.build/repositories/ViTEngine-*
mkdir -p "$scratch/Consumer"
cp -R "$root/Examples/Consumer/Package.swift" "$root/Examples/Consumer/Sources" "$scratch/Consumer/"
export VIT_ENGINE_URL="$scratch/ViTEngine"
swift build --package-path "$scratch/Consumer" -c "$config" --disable-dependency-cache
bin="$(swift build --package-path "$scratch/Consumer" -c "$config" --show-bin-path)"
grep -q "\"version\" : \"$version\"" "$scratch/Consumer/Package.resolved" \
  || { echo "consumer.sh: ViTEngine was not resolved at version $version" >&2; exit 1; }

# The README's files: random fixture weights (M0, Cream layout) and a test image.
run="$scratch/run"
rm -rf "$run" && mkdir -p "$run"
cp "$root/Tests/ViTEngineTests/Fixtures/pth/m0_cream_f16.pth" "$run/efficientvit_m0.pth"
cp "$root/Tests/ViTImagesTests/Fixtures/chelsea.jpg" "$run/cat.jpg"

echo "== Classify"
(cd "$run" && "$bin/Classify") | tee "$run/classify.txt"
[ "$(grep -c $'\t' "$run/classify.txt")" -ge 5 ] || { echo "consumer.sh: Classify printed no top-5" >&2; exit 1; }

echo "== EmbeddedServer"
port=18081
(cd "$run" && PORT=$port exec "$bin/EmbeddedServer" efficientvit_m0.pth) &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
python3 - "$port" "$run/cat.jpg" <<'PY'
import sys, time, urllib.request
port, image = sys.argv[1], open(sys.argv[2], "rb").read()
deadline = time.time() + 120
while True:
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/classify", data=image, method="POST")
        answer = urllib.request.urlopen(request, timeout=30).read().decode()
        break
    except OSError:
        if time.time() > deadline: sys.exit("consumer.sh: EmbeddedServer did not answer within 120 s")
        time.sleep(0.5)
print(answer, end="")
if len([line for line in answer.splitlines() if "\t" in line]) != 3: sys.exit("consumer.sh: expected 3 classes")
PY
kill -TERM $server
wait $server || { echo "consumer.sh: EmbeddedServer did not exit cleanly on SIGTERM" >&2; exit 1; }
trap - EXIT
echo "consumer.sh: ViTEngine $version as a git dependency: built ($config) and ran"
