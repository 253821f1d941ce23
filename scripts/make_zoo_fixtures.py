#!/usr/bin/env python3
"""Generate the parity fixtures of the model zoo (every registered family but EfficientViT,
whose fixtures come from make_fixtures.py).

    python3 scripts/make_zoo_fixtures.py [--only case1,case2] [--threads N] [--bench-src PATH]

Each case builds the timm model named in it (pretrained=False, eval mode), fills every float
tensor of its state dict with the deterministic generator of fixture_rng.py (the same rules the
Swift tests read from the manifest), picks the first input seed whose top-5 classes are
separated by clear gaps, and writes the float32 reference logits (and, where asked, the
pre-logits features) as ``zoo/<case>.logits.npy`` with the case's manifest entry as
``zoo/<case>.json``, and each model's
float tensors in timm's state-dict order as ``zoo/<model>.tensors.json`` (one file per case and
per model, so architectures added side by side never edit the same fixture file). Cases at another input size build the model with
``dynamic_img_size=True``, so timm resamples the position embedding (bicubic, antialiased) as a
user running the model at that size gets (Swin: ``img_size=``, the size timm builds its windows and
masks for; EfficientFormerV2: ``img_size`` in the case, recorded in its JSON, since its attention
bias tables are sized by it and the test must build that configuration). Cases of the "Which Transformer to Favor" benchmark's
models (``bench=True``) need ``--bench-src`` (a checkout of tobna/WhatTransformerToFavor, see
bench_models.py); at another input size they are resized with the benchmark's own
``set_image_res`` after the weights are filled, as the benchmark evaluates them. The generator rules stay in Fixtures/manifest.json
(written by make_fixtures.py; updated here if fixture_rng.RULES grew).

Requires: torch, timm (PyPI). No weights are written: the tests regenerate them.
"""

from __future__ import annotations

import argparse
import json
import re
import os
import sys

import numpy as np
import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)

import bench_models  # noqa: E402
import fixture_rng  # noqa: E402
import make_fixtures as mf  # noqa: E402

# Smallest float64 gap allowed between a ToMe matching choice and its runner-up (cosine scores).
TOME_MARGIN = 1e-4
# Smallest float64 gap allowed between a Switch token's best and second-best router logit.
ROUTING_MARGIN = 1e-4
# Smallest gap allowed between DynamicViT's last kept and first dropped token's keep score.
PRUNING_MARGIN = 1e-4
# Smallest float64 gap allowed between EViT's last kept and first dropped token's class
# attention, relative to the former.
SELECTION_MARGIN = 1e-3

# name, timm model, batch, height, width, weight seed, extra create_model arguments, features
CASES = [
    dict(name="vit_tiny_224_b2", model="vit_tiny_patch16_224", batch=2, height=224, width=224, weight_seed=31,
         features=True),
    dict(name="vit_tiny_160x256_b2", model="vit_tiny_patch16_224", batch=2, height=160, width=256, weight_seed=32,
         kwargs=dict(dynamic_img_size=True)),
    dict(name="vit_small_224_b2", model="vit_small_patch16_224", batch=2, height=224, width=224, weight_seed=33),
    dict(name="vit_base_224_b1", model="vit_base_patch16_224", batch=1, height=224, width=224, weight_seed=34),
    dict(name="deit_tiny_224_b2", model="deit_tiny_patch16_224", batch=2, height=224, width=224, weight_seed=35),
    dict(name="deit_small_224_b2", model="deit_small_patch16_224", batch=2, height=224, width=224, weight_seed=36),
    dict(name="deit_base_224_b1", model="deit_base_patch16_224", batch=1, height=224, width=224, weight_seed=37),
    dict(name="deit3_small_224_b2", model="deit3_small_patch16_224", batch=2, height=224, width=224, weight_seed=38,
         features=True),
    dict(name="deit3_small_288_b1", model="deit3_small_patch16_224", batch=1, height=288, width=288, weight_seed=39,
         kwargs=dict(dynamic_img_size=True)),
    dict(name="deit3_base_224_b1", model="deit3_base_patch16_224", batch=1, height=224, width=224, weight_seed=40),
    dict(name="resnet50_224_b2", model="resnet50", batch=2, height=224, width=224, weight_seed=41, features=True),
    dict(name="resnet50_160x192_b1", model="resnet50", batch=1, height=160, width=192, weight_seed=42),
    # MLP-Mixer's token-mixing MLPs fix the sequence length: 224×224 is its only input size.
    dict(name="mixer_b16_224_b2", model="mixer_b16_224", batch=2, height=224, width=224, weight_seed=43,
         features=True),
    # CaiT's position embedding fixes the input size (timm: fixed_input_size): 224×224 only.
    # XCiT has no position table to resample: any size runs (the Fourier encoding is computed).
    dict(name="xcit_tiny_224_b2", model="xcit_tiny_12_p16_224", batch=2, height=224, width=224, weight_seed=45,
         features=True),
    dict(name="xcit_tiny_160x192_b1", model="xcit_tiny_12_p16_224", batch=1, height=160, width=192, weight_seed=46),
    dict(name="xcit_nano_224_b1", model="xcit_nano_12_p16_224", batch=1, height=224, width=224, weight_seed=47),
    dict(name="cait_xxs24_224_b2", model="cait_xxs24_224", batch=2, height=224, width=224, weight_seed=44,
         features=True),
    # The benchmark's models (need --bench-src).
    dict(name="linformer_tiny_224_b2", model="linformer_vit_tiny_patch16", batch=2, height=224, width=224,
         weight_seed=43, bench=True, features=True),
    dict(name="linformer_tiny_160_b1", model="linformer_vit_tiny_patch16", batch=1, height=160, width=160,
         weight_seed=44, bench=True),
    dict(name="linformer_small_224_b1", model="linformer_vit_small_patch16", batch=1, height=224, width=224,
         weight_seed=45, bench=True),
    dict(name="linformer_base_224_b1", model="linformer_vit_base_patch16", batch=1, height=224, width=224,
         weight_seed=49, bench=True),
    dict(name="fnet_tiny_224_b2", model="fnet_vit_tiny_patch16", batch=2, height=224, width=224, weight_seed=46,
         bench=True, features=True),
    dict(name="fnet_tiny_288_b1", model="fnet_vit_tiny_patch16", batch=1, height=288, width=288, weight_seed=47,
         bench=True),
    dict(name="fnet_small_224_b1", model="fnet_vit_small_patch16", batch=1, height=224, width=224, weight_seed=48,
         bench=True),
    dict(name="fnet_base_224_b1", model="fnet_vit_base_patch16", batch=1, height=224, width=224, weight_seed=50,
         bench=True),
    dict(name="tome_tiny_r8_224_b2", model="tome_vit_tiny_r8_patch16", batch=2, height=224, width=224,
         weight_seed=51, bench=True, tome=True, features=True),
    dict(name="tome_tiny_r8_160_b1", model="tome_vit_tiny_r8_patch16", batch=1, height=160, width=160,
         weight_seed=52, bench=True, tome=True),
    dict(name="tome_tiny_r13_224_b1", model="tome_vit_tiny_r13_patch16", batch=1, height=224, width=224,
         weight_seed=53, bench=True, tome=True),
    dict(name="tome_small_r8_224_b1", model="tome_vit_small_r8_patch16", batch=1, height=224, width=224,
         weight_seed=54, bench=True, tome=True),
    dict(name="tome_small_r13_224_b1", model="tome_vit_small_r13_patch16", batch=1, height=224, width=224,
         weight_seed=55, bench=True, tome=True),
    dict(name="linear_tiny_224_b2", model="linear_vit_tiny_patch16", batch=2, height=224, width=224,
         weight_seed=60, bench=True, features=True),
    dict(name="linear_tiny_160_b1", model="linear_vit_tiny_patch16", batch=1, height=160, width=160,
         weight_seed=61, bench=True),
    dict(name="linear_small_224_b1", model="linear_vit_small_patch16", batch=1, height=224, width=224,
         weight_seed=62, bench=True),
    dict(name="synthesizer_fd_tiny_224_b2", model="synthesizer_fd_vit_tiny_patch16", batch=2, height=224,
         width=224, weight_seed=63, bench=True, features=True),
    dict(name="synthesizer_fd_tiny_160_b1", model="synthesizer_fd_vit_tiny_patch16", batch=1, height=160,
         width=160, weight_seed=64, bench=True),
    dict(name="synthesizer_fr_tiny_224_b2", model="synthesizer_fr_vit_tiny_patch16", batch=2, height=224,
         width=224, weight_seed=67, bench=True, features=True),
    dict(name="synthesizer_fr_tiny_160_b1", model="synthesizer_fr_vit_tiny_patch16", batch=1, height=160,
         width=160, weight_seed=68, bench=True),
    dict(name="switch_tiny_224_b2", model="switch_8_vit_tiny_patch16", batch=2, height=224, width=224,
         weight_seed=65, bench=True, switch=True, features=True),
    dict(name="switch_tiny_160_b1", model="switch_8_vit_tiny_patch16", batch=1, height=160, width=160,
         weight_seed=66, bench=True, switch=True),
    # GFNet: set_image_res resizes the position embedding and every filter bilinearly.
    dict(name="gfnet_tiny_224_b2", model="gfnet_tiny_patch16", batch=2, height=224, width=224,
         weight_seed=78, bench=True, features=True),
    dict(name="gfnet_tiny_160_b1", model="gfnet_tiny_patch16", batch=1, height=160, width=160,
         weight_seed=79, bench=True),
    dict(name="gfnet_tiny_272_b1", model="gfnet_tiny_patch16", batch=1, height=272, width=272,
         weight_seed=80, bench=True),
    dict(name="gfnet_extra_small_224_b1", model="gfnet_extra_small_patch16", batch=1, height=224, width=224,
         weight_seed=81, bench=True),
    dict(name="gfnet_small_224_b1", model="gfnet_small_patch16", batch=1, height=224, width=224,
         weight_seed=82, bench=True),
    dict(name="gfnet_base_224_b1", model="gfnet_base_patch16", batch=1, height=224, width=224,
         weight_seed=83, bench=True),
    # Nyströmformer: 197 tokens in 64 landmark segments (59 of 3, 5 of 4) or 32 (27 of 6, 5 of 7);
    # set_image_res(160): 101 tokens (27 of 1, 37 of 2).
    dict(name="nystrom64_tiny_224_b2", model="nystrom64_vit_tiny_patch16", batch=2, height=224, width=224,
         weight_seed=84, bench=True, features=True),
    dict(name="nystrom64_tiny_160_b1", model="nystrom64_vit_tiny_patch16", batch=1, height=160, width=160,
         weight_seed=85, bench=True),
    dict(name="nystrom32_tiny_224_b1", model="nystrom32_vit_tiny_patch16", batch=1, height=224, width=224,
         weight_seed=86, bench=True),
    dict(name="nystrom64_small_224_b1", model="nystrom64_vit_small_patch16", batch=1, height=224, width=224,
         weight_seed=87, bench=True),
    dict(name="nystrom32_small_224_b1", model="nystrom32_vit_small_patch16", batch=1, height=224, width=224,
         weight_seed=88, bench=True),
    dict(name="nystrom64_base_224_b1", model="nystrom64_vit_base_patch16", batch=1, height=224, width=224,
         weight_seed=89, bench=True),
    dict(name="nystrom32_base_224_b1", model="nystrom32_vit_base_patch16", batch=1, height=224, width=224,
         weight_seed=90, bench=True),
    # Performer: the random projections are the checkpoint's buffers (generated like any tensor).
    dict(name="performer_tiny_224_b2", model="performer_vit_tiny_patch16", batch=2, height=224, width=224,
         weight_seed=91, bench=True, features=True),
    dict(name="performer_tiny_160_b1", model="performer_vit_tiny_patch16", batch=1, height=160, width=160,
         weight_seed=92, bench=True),
    dict(name="performer_small_224_b1", model="performer_vit_small_patch16", batch=1, height=224, width=224,
         weight_seed=93, bench=True),
    dict(name="performer_base_224_b1", model="performer_vit_base_patch16", batch=1, height=224, width=224,
         weight_seed=94, bench=True),
    # Poly-SA: set_image_res(160) resizes p1 and p2 bicubically over the patch grid.
    dict(name="polysa_tiny_224_b2", model="polysa_vit_tiny_patch16", batch=2, height=224, width=224,
         weight_seed=95, bench=True, features=True),
    dict(name="polysa_tiny_160_b1", model="polysa_vit_tiny_patch16", batch=1, height=160, width=160,
         weight_seed=96, bench=True),
    dict(name="polysa_small_224_b1", model="polysa_vit_small_patch16", batch=1, height=224, width=224,
         weight_seed=97, bench=True),
    dict(name="polysa_base_224_b1", model="polysa_vit_base_patch16", batch=1, height=224, width=224,
         weight_seed=98, bench=True),
    # TokenLearner: blocks 0..L-1, the TokenLearner (8 tokens), blocks 0..L-1 again (the benchmark's
    # block list); the repeated blocks are one tensor under two names, generated once.
    dict(name="token_learner_8_50_tiny_224_b2", model="token_learner_vit_8_50_tiny_patch16", batch=2, height=224,
         width=224, weight_seed=99, bench=True, features=True),
    dict(name="token_learner_8_50_tiny_160_b1", model="token_learner_vit_8_50_tiny_patch16", batch=1, height=160,
         width=160, weight_seed=100, bench=True),
    dict(name="token_learner_8_75_tiny_224_b1", model="token_learner_vit_8_75_tiny_patch16", batch=1, height=224,
         width=224, weight_seed=101, bench=True),
    dict(name="token_learner_8_50_small_224_b1", model="token_learner_vit_8_50_small_patch16", batch=1, height=224,
         width=224, weight_seed=102, bench=True),
    dict(name="token_learner_8_75_small_224_b1", model="token_learner_vit_8_75_small_patch16", batch=1, height=224,
         width=224, weight_seed=103, bench=True),
    dict(name="token_learner_8_50_base_224_b1", model="token_learner_vit_8_50_base_patch16", batch=1, height=224,
         width=224, weight_seed=104, bench=True),
    dict(name="token_learner_8_75_base_224_b1", model="token_learner_vit_8_75_base_patch16", batch=1, height=224,
         width=224, weight_seed=105, bench=True),
    # DynamicViT in eval mode: inputs whose kept/dropped tokens are at least 1e-4 apart in score.
    dict(name="dynamic_vit_90_tiny_224_b2", model="dynamic_vit_90_tiny_patch16", batch=2, height=224, width=224,
         weight_seed=106, bench=True, dynamic=True, features=True),
    dict(name="dynamic_vit_90_tiny_160_b1", model="dynamic_vit_90_tiny_patch16", batch=1, height=160, width=160,
         weight_seed=107, bench=True, dynamic=True),
    dict(name="dynamic_vit_70_tiny_224_b1", model="dynamic_vit_70_tiny_patch16", batch=1, height=224, width=224,
         weight_seed=108, bench=True, dynamic=True),
    dict(name="dynamic_vit_90_small_224_b1", model="dynamic_vit_90_small_patch16", batch=1, height=224, width=224,
         weight_seed=109, bench=True, dynamic=True),
    dict(name="dynamic_vit_70_small_224_b1", model="dynamic_vit_70_small_patch16", batch=1, height=224, width=224,
         weight_seed=110, bench=True, dynamic=True),
    dict(name="dynamic_vit_90_base_224_b1", model="dynamic_vit_90_base_patch16", batch=1, height=224, width=224,
         weight_seed=111, bench=True, dynamic=True),
    dict(name="dynamic_vit_70_base_224_b1", model="dynamic_vit_70_base_patch16", batch=1, height=224, width=224,
         weight_seed=112, bench=True, dynamic=True),
    # EViT (the official release's settings, built by the benchmark's evit.py: bench_models.BUILDS).
    dict(name="evit_small_224_b2", model="evit_small_patch16_224", batch=2, height=224, width=224,
         weight_seed=75, bench=True, evit=True, features=True),
    dict(name="evit_small_160_b1", model="evit_small_patch16_224", batch=1, height=160, width=160,
         weight_seed=76, bench=True, evit=True),
    dict(name="evit_small_nofuse_224_b2", model="evit_small_patch16_224_nofuse", batch=2, height=224, width=224,
         weight_seed=77, bench=True, evit=True),
    # Swin: another size is timm's img_size= with the same weights (windows stay 7×7; maps that are
    # not a multiple of 7 are padded, an axis no larger than a window is not shifted).
    dict(name="swin_tiny_224_b2", model="swin_tiny_patch4_window7_224", batch=2, height=224, width=224,
         weight_seed=56, features=True),
    dict(name="swin_tiny_256x224_b1", model="swin_tiny_patch4_window7_224", batch=1, height=256, width=224,
         weight_seed=57, kwargs=dict(img_size=(256, 224))),
    dict(name="swin_small_224_b1", model="swin_small_patch4_window7_224", batch=1, height=224, width=224,
         weight_seed=58),
    # The official microsoft/Swin-Transformer release's key layout (the test renames the weights
    # with the map this writes, which timm's own checkpoint_filter_fn is checked to undo).
    dict(name="swin_tiny_official_224_b1", model="swin_tiny_patch4_window7_224", batch=1, height=224,
         width=224, weight_seed=69, layout="official"),
    dict(name="swin_base_224_b1", model="swin_base_patch4_window7_224", batch=1, height=224, width=224,
         weight_seed=59),
    # EfficientFormerV2's attention biases are tables over the maps of timm's img_size: another
    # size is another model (``img_size``, recorded in the case so the test builds that config;
    # stage 2's maps, img_size / 16 rounded up, must have even sides).
    dict(name="efficientformerv2_s0_224_b2", model="efficientformerv2_s0", batch=2, height=224, width=224,
         weight_seed=70, features=True),
    dict(name="efficientformerv2_s0_192x160_b1", model="efficientformerv2_s0", batch=1, height=192, width=160,
         weight_seed=71, img_size=[192, 160]),
    dict(name="efficientformerv2_s1_224_b1", model="efficientformerv2_s1", batch=1, height=224, width=224,
         weight_seed=72),
    dict(name="efficientformerv2_s2_224_b1", model="efficientformerv2_s2", batch=1, height=224, width=224,
         weight_seed=73),
    dict(name="efficientformerv2_l_224_b1", model="efficientformerv2_l", batch=1, height=224, width=224,
         weight_seed=74),
]


# The margins a case may record (bench_models' *Margins), in the order the fixtures list them.
MARGINS = ("matching_margin", "routing_margin", "selection_margin", "pruning_margin")


def accept_by_margin(case: dict, key: str, margins, threshold: float):
    """An input filter for ``choose_input``: runs the model under ``margins(model)`` (a context
    that records how far the model's discrete choices are from a tie), records that in
    ``case[key]`` and accepts the input only if it exceeds ``threshold``."""
    def accept(m, x):
        with margins(m) as recorded:
            out = m(x)
        case[key] = recorded.smallest
        return out if recorded.smallest > threshold else None
    return accept


def official_swin_names(model) -> dict:
    """timm name -> the official microsoft/Swin-Transformer release's name of each float tensor.

    The release merges patches at the end of a stage (its layers.i.downsample is timm's
    layers.(i+1).downsample) and calls the classifier `head`. The map is checked against timm's
    own converter: a state dict under these names must come back under timm's names, tensor for
    tensor, so the reference decides the layout, not this function.
    """
    from timm.models.swin_transformer import checkpoint_filter_fn

    def official(k: str) -> str:
        m = re.match(r"layers\.(\d+)\.downsample\.(.*)", k)
        if m:
            return f"layers.{int(m.group(1)) - 1}.downsample.{m.group(2)}"
        return k.replace("head.fc.", "head.")

    state = {k: v for k, v in model.state_dict().items() if v.is_floating_point()}
    names = {k: official(k) for k in state}
    back = checkpoint_filter_fn({names[k]: v for k, v in state.items()}, model)
    assert set(back) == set(state) and all(back[k] is state[k] for k in state), "timm disagrees"
    assert "layers.0.downsample.reduction.weight" in names.values()
    return names


def run_case(case: dict, out_dir: str) -> dict:
    import timm

    name = case["name"]
    kwargs = dict(case.get("kwargs", {}), **({"img_size": tuple(case["img_size"])} if "img_size" in case else {}))
    model = (bench_models.create(case["model"]) if case.get("bench")
             else timm.create_model(case["model"], pretrained=False, **kwargs).eval())
    entries = mf.float_entries(model)
    for tensor, _ in entries:
        fixture_rng.rule_for(tensor)  # every tensor has a rule
    state = mf.generated_state(model, case["weight_seed"], round_f16=False)
    mf.fill_model(model, state)
    if case.get("bench") and case["height"] != model.img_size:
        assert case["height"] == case["width"], "the benchmark resizes to square images only"
        model.set_image_res(case["height"])

    b, h, w = case["batch"], case["height"], case["width"]
    # Discrete choices (ToMe's merges, Switch routes, EViT's kept tokens): only inputs whose every
    # choice is far from a tie make a fixture an engine can match exactly.
    accept = None
    if case.get("tome"):
        accept = accept_by_margin(case, "matching_margin", lambda m: bench_models.MatchingMargins(), TOME_MARGIN)
    if case.get("switch"):
        accept = accept_by_margin(case, "routing_margin", bench_models.RoutingMargins, ROUTING_MARGIN)
    if case.get("dynamic"):
        accept = accept_by_margin(case, "pruning_margin", bench_models.PruningMargins, PRUNING_MARGIN)
    if case.get("evit"):
        accept = accept_by_margin(case, "selection_margin", bench_models.SelectionMargins, SELECTION_MARGIN)
    seed, x, logits, max_abs, tops, min_gap = mf.choose_input(model, name, b, h, w, accept)

    with torch.no_grad():
        feats = None
        if case.get("features") and case.get("bench"):
            # The input of the head, captured in a full forward (ToMe's forward sets up its token
            # sizes and merge schedule; forward_features alone would skip that).
            captured = []
            hook = model.head.register_forward_hook(lambda m, args, out: captured.append(args[0]))
            model(x)
            hook.remove()
            feats = captured[0].numpy()
        elif case.get("features"):
            feats = model.forward_head(model.forward_features(x), pre_logits=True).numpy()
        logits64 = bench_models.double_reference(model)(x.double()).numpy()
    diff64 = float(np.abs(logits.astype(np.float64) - logits64).max())

    os.makedirs(os.path.join(out_dir, "zoo"), exist_ok=True)
    layout_keys = None
    if case.get("layout") == "official":
        layout_keys = f"zoo/{name}.layout_keys.json"
        mf.write_json(os.path.join(out_dir, layout_keys), official_swin_names(model))
    logits_file = f"zoo/{name}.logits.npy"
    mf.write_npy(os.path.join(out_dir, logits_file), logits)
    features_file = None
    if feats is not None:
        features_file = f"zoo/{name}.features.npy"
        mf.write_npy(os.path.join(out_dir, features_file), feats)
    print(f"{name:>22}: input_seed={seed:<3} max|logit|={max_abs:9.4f} min_top5_gap={min_gap:.5f} "
          f"fp32-vs-fp64={diff64:.3g} ({diff64 / max_abs:.2g} relative)"
          + "".join(f" {k}={case[k]:.2g}" for k in MARGINS if k in case), flush=True)
    return {
        "name": name, "model": case["model"], "batch": b, "height": h, "width": w,
        "weight_seed": case["weight_seed"], "weight_rounding": None, "input_seed": seed,
        "layout": case.get("layout", "timm"), "weights_file": None, "cream_keys": None,
        **({"layout_keys": layout_keys} if layout_keys else {}),
        "logits": logits_file, "features": features_file,
        "max_abs_logit": float(max_abs), "min_top5_gap": float(min_gap), "top5": tops,
        "ref_fp32_vs_fp64_max_abs": diff64, "tensors": len(entries),
        **{k: case[k] for k in MARGINS if k in case},
        **({"img_size": case["img_size"]} if "img_size" in case else {}),
        "reference": (f"WhatTransformerToFavor {bench_models.describe(case['model'])}"
                      + (f" set_image_res({h})" if h != 224 else "")
                      if case.get("bench") else
                      f"timm {case['model']}" + (f" {kwargs}" if kwargs else "")),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=mf.DEFAULT_OUT)
    p.add_argument("--only", default=None, help="comma-separated case names")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bench-src", default=None,
                   help="checkout of tobna/WhatTransformerToFavor (for the benchmark's models)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    only = set(args.only.split(",")) if args.only else None
    wanted = [c for c in CASES if only is None or c["name"] in only]
    if any(c.get("bench") for c in wanted):
        if not args.bench_src:
            p.error("cases of the benchmark's models need --bench-src PATH")
        bench_models.register(args.bench_src)
    results = {c["name"]: run_case(c, args.out) for c in wanted}

    zoo_dir = os.path.join(args.out, "zoo")
    os.makedirs(zoo_dir, exist_ok=True)
    import timm
    for entry in results.values():
        mf.write_json(os.path.join(zoo_dir, entry["name"] + ".json"), entry)
        # The model's float tensors in timm's state-dict order, for the Swift test that the
        # engine's tensor spec is exactly timm's.
        model = (bench_models.create(entry["model"]) if entry["reference"].startswith("WhatTransformerToFavor")
                 else timm.create_model(entry["model"], pretrained=False))
        rows = mf.float_entries(model)
        with open(os.path.join(zoo_dir, entry["model"] + ".tensors.json"), "w", encoding="utf-8") as f:
            f.write("[\n" + ",\n".join(json.dumps([k, list(v)]) for k, v in rows) + "\n]\n")

    path = os.path.join(args.out, "manifest.json")
    manifest = json.load(open(path, encoding="utf-8"))
    if manifest["generator"]["rules"] != fixture_rng.RULES:
        manifest["generator"]["rules"] = fixture_rng.RULES
        mf.write_json(path, manifest)
        print("manifest.json: generator rules updated")
    print(f"{len(results)} zoo cases written to {zoo_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
