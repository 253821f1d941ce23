#!/usr/bin/env bash
# Builds the DocC documentation of every library product (swift-docc-plugin) into
# .build/docs/<Target>, with warnings (an unresolved symbol link, a missing page) as errors.
#   bash scripts/docs.sh            then open .build/docs/ViTEngine/index.html (or host the folder)
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build/docs
mkdir -p "$out"
for target in ${DOCS_TARGETS:-ViTEngine ViTImages ViTServing ViTServer ViTHub}; do
  echo "== $target"
  swift package --allow-writing-to-directory "$out" generate-documentation --target "$target" \
      --output-path "$out/$target" --warnings-as-errors --disable-indexing \
      --transform-for-static-hosting --hosting-base-path "$target"
done
echo "docs.sh: documentation of every library product in $out"
