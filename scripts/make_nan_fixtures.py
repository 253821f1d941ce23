#!/usr/bin/env python3
"""Reference logits of EfficientViT-M0 with a few weights made NaN (or a BatchNorm variance made
negative), for the engine's NonFiniteWeights.propagateNaN tests.

    python3 scripts/make_nan_fixtures.py [--out DIR]

The weights are make_fixtures.py's deterministic random ones (fixture_rng.py; the Swift tests
regenerate them); each case then sets the listed elements (flat, row-major index) and runs timm's
model in float32 eval mode on a generated input. PyTorch propagates NaN through every operation,
so the NaN positions of the logits are the reference as much as the finite values are.

Outputs (default Tests/ViTEngineTests/Fixtures/nan): manifest.json, <case>.logits.npy and
<case>.features.npy (the pooled pre-logits features).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import REPO_ROOT, build_timm, fill_model, generated_state, make_input, write_npy  # noqa: E402

MODEL, WEIGHT_SEED, INPUT_SEED, BATCH, SIZE = "efficientvit_m0", 31, 1, 2, 224

# name: [(tensor, flat index, value)], and what the case shows
CASES = {
    # The head is BatchNorm1d + Linear, folded into one linear layer: one NaN weight makes one
    # logit NaN and leaves the other 999 finite.
    "nan_head_weight": [("head.linear.weight", 3 * 192 + 10, "nan")],
    # A negative variance in the head's BatchNorm: its channel is NaN, and so every logit.
    "negative_head_variance": [("head.bn.running_var", 7, -1.0)],
    # A NaN deep in the network (a feed-forward weight of the last stage) and a negative variance
    # in the stem: both reach every logit through ReLU, attention and pooling.
    "nan_ffn_weight": [("stages.2.blocks.0.ffn0.m.pw1.conv.weight", 5, "nan")],
    "negative_stem_variance": [("patch_embed.conv1.bn.running_var", 2, -1.0)],
    # A negative variance in the last BatchNorm before pooling: one channel of the pooled
    # features is NaN, the other 191 finite (and every logit NaN).
    "negative_last_variance": [("stages.2.blocks.2.ffn1.m.pw2.bn.running_var", 17, -1.0)],
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(REPO_ROOT, "Tests", "ViTEngineTests", "Fixtures", "nan"))
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    x = make_input(BATCH, SIZE, SIZE, INPUT_SEED)
    cases = []
    for name, poison in CASES.items():
        model = build_timm(MODEL)
        state = generated_state(model, WEIGHT_SEED, round_f16=False)
        for tensor, index, value in poison:
            state[tensor].view(-1)[index] = float(value)
        fill_model(model, state)
        with torch.no_grad():
            logits = model(x).numpy()
            features = model.forward_head(model.forward_features(x), pre_logits=True).numpy()
        nan = np.isnan(logits)
        finite = logits[~nan]
        print(f"{name:>24}: {int(nan.sum())} of {logits.size} logits NaN, "
              f"max|finite| {float(np.abs(finite).max()) if finite.size else 0:.4f}; "
              f"{int(np.isnan(features).sum())} of {features.size} features NaN")
        write_npy(os.path.join(args.out, f"{name}.logits.npy"), logits)
        write_npy(os.path.join(args.out, f"{name}.features.npy"), features)
        cases.append({"name": name, "logits": f"{name}.logits.npy", "features": f"{name}.features.npy",
                      "poison": [{"tensor": t, "index": i, "value": str(v)} for t, i, v in poison]})
    manifest = {"model": MODEL, "weight_seed": WEIGHT_SEED, "input_seed": INPUT_SEED, "batch": BATCH,
                "height": SIZE, "width": SIZE, "torch": torch.__version__, "cases": cases}
    with open(os.path.join(args.out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
