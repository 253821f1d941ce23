#!/usr/bin/env bash
# One command on a fresh machine: install the Debian packages, build the CLI in release mode, and
# run EfficientViT-M0 on a random batch with the test fixture's weights (random, not pretrained:
# no network is needed). Real weights: see README, "Converting a checkpoint".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --static-swift-stdlib --product vit
vit=$(swift build -c release --show-bin-path)/vit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -c 'import numpy' 2>/dev/null || pip install numpy
python3 - "$work/input.npy" <<'PY'
import sys, numpy as np
np.save(sys.argv[1], np.random.default_rng(0).standard_normal((2, 3, 224, 224), dtype=np.float32))
PY
"$vit" models | head -3
"$vit" run --model m0 --weights Tests/ViTEngineTests/Fixtures/pth/m0_cream_f16.pth \
  --input "$work/input.npy" --output "$work/logits.npy" --features "$work/features.npy"
python3 - "$work/logits.npy" <<'PY'
import sys, numpy as np
logits = np.load(sys.argv[1])
for n, row in enumerate(logits):
    print(f"image {n}: top-5 classes {np.argsort(-row)[:5].tolist()}")
PY
