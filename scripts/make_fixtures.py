#!/usr/bin/env python3
"""Generate the reference fixtures for the Swift EfficientViT engine tests.

    python3 scripts/make_fixtures.py [--out DIR] [--cream-src PATH] [--threads N]

For every case a timm ``efficientvit_m*`` model (built at the default
img_size=224, eval mode) gets every float parameter/buffer filled by the
deterministic generator in ``fixture_rng.py``; the reference logits (and, where
asked, the pooled pre-logits features) are computed with torch in float32 for an
input also produced by the generator.  Inputs of other sizes are fed directly
(timm runs attention in windows of the trained size, zero-padded).

Outputs (default ``Tests/ViTEngineTests/Fixtures``):
  manifest.json               generator rules + one entry per case
  reference_tensors.json      {model: [[timm name, shape], ...]} float tensors, state-dict order
  <case>.logits.npy           float32 (N, 1000)
  <case>.features.npy         float32 (N, C) for cases with features
  <case>.cream_keys.json      timm key -> Cream key, for Cream-layout cases without a weights file
  (m0_224_b2's weights are the real Cream checkpoint pth/m0_cream_f16.pth, written by
   make_pth_fixtures.py; here they are torch.save'd, converted by convert_checkpoint.py and
   checked against the reference in a temporary directory only, as the Python cross-check)

With ``--cream-src`` (path to microsoft/Cream's
EfficientViT/classification/model/efficientvit.py) the official model code is
imported and used to verify the timm<->Cream key mapping, that the fixture .pth
loads strictly into Cream's M0, and that Cream's logits equal timm's.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import importlib.util
import itertools
import json
import os
import subprocess
import sys
import tempfile
import types
import warnings

import numpy as np
import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import fixture_rng  # noqa: E402
from fixture_models import build_timm, fill_model, float_entries, generated_state  # noqa: E402,F401
from cream_layout import cream_to_timm, timm_to_cream  # noqa: E402

REPO_ROOT = os.path.dirname(_HERE)
DEFAULT_OUT = os.path.join(REPO_ROOT, "Tests", "ViTEngineTests", "Fixtures")

MODELS = tuple(f"efficientvit_m{i}" for i in range(6))

# name, model, batch, height, width, weight_seed, layout, features, weights file (f16)
CASES = [
    dict(name="m0_224_b2", model="efficientvit_m0", batch=2, height=224, width=224,
         weight_seed=11, layout="cream", features=True, weights_file="pth/m0_cream_f16.pth"),
    dict(name="m1_224_b2", model="efficientvit_m1", batch=2, height=224, width=224,
         weight_seed=12, layout="timm"),
    dict(name="m2_224_b2", model="efficientvit_m2", batch=2, height=224, width=224,
         weight_seed=13, layout="cream"),
    dict(name="m3_224_b2", model="efficientvit_m3", batch=2, height=224, width=224,
         weight_seed=14, layout="timm"),
    dict(name="m4_224_b2", model="efficientvit_m4", batch=2, height=224, width=224,
         weight_seed=15, layout="timm"),
    dict(name="m5_224_b2", model="efficientvit_m5", batch=2, height=224, width=224,
         weight_seed=16, layout="cream"),
    dict(name="m2_160_b1", model="efficientvit_m2", batch=1, height=160, width=160,
         weight_seed=21, layout="timm"),
    dict(name="m4_256_b1", model="efficientvit_m4", batch=1, height=256, width=256,
         weight_seed=22, layout="timm"),
    dict(name="m0_224x320_b5", model="efficientvit_m0", batch=5, height=224, width=320,
         weight_seed=23, layout="timm", features=True),
    dict(name="m1_320x224_b1", model="efficientvit_m1", batch=1, height=320, width=224,
         weight_seed=24, layout="timm"),
]

GAP_FACTOR = 20 * 1e-4      # required top-5 gap, relative to the case's max |logit|
MAX_INPUT_SEED = 500
PTH_NAME = "efficientvit_m0_cream_fixture.pth"  # fixed name => deterministic torch.save bytes

# Official Cream configurations (EfficientViT/classification/model/build.py).
CREAM_CONFIGS = {
    "efficientvit_m0": dict(embed_dim=[64, 128, 192], depth=[1, 2, 3], num_heads=[4, 4, 4], kernels=[5, 5, 5, 5]),
    "efficientvit_m1": dict(embed_dim=[128, 144, 192], depth=[1, 2, 3], num_heads=[2, 3, 3], kernels=[7, 5, 3, 3]),
    "efficientvit_m2": dict(embed_dim=[128, 192, 224], depth=[1, 2, 3], num_heads=[4, 3, 2], kernels=[7, 5, 3, 3]),
    "efficientvit_m3": dict(embed_dim=[128, 240, 320], depth=[1, 2, 3], num_heads=[4, 3, 4], kernels=[5, 5, 5, 5]),
    "efficientvit_m4": dict(embed_dim=[128, 256, 384], depth=[1, 2, 3], num_heads=[4, 4, 4], kernels=[7, 5, 3, 3]),
    "efficientvit_m5": dict(embed_dim=[192, 288, 384], depth=[1, 3, 4], num_heads=[3, 3, 4], kernels=[7, 5, 3, 3]),
}


# ----------------------------------------------------------------------------- helpers

def check_rules_cover(model_name: str, entries) -> None:
    for name, _ in entries:
        fixture_rng.rule_for(name, fixture_rng.RULES)  # raises KeyError if unmatched


def attention_bias_idxs(resolution: int) -> torch.Tensor:
    """Relative-offset index table of a (resolution x resolution) attention window:
    offsets (|dy|, |dx|) numbered in order of first appearance over all point pairs."""
    pts = list(itertools.product(range(resolution), range(resolution)))
    seen: dict[tuple[int, int], int] = {}
    idx = []
    for a in pts:
        for b in pts:
            off = (abs(a[0] - b[0]), abs(a[1] - b[1]))
            idx.append(seen.setdefault(off, len(seen)))
    n = len(pts)
    return torch.tensor(idx, dtype=torch.int64).view(n, n)


def cream_state_dict(model, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Cream-layout state dict with Cream's extra buffers (attention_bias_idxs after each
    attention_biases, num_batches_tracked for every BatchNorm) in Cream's order."""
    timm_sd = model.state_dict()
    attn_modules = {n: m for n, m in model.named_modules() if n.endswith("mixer.m.attn")}
    out = {}
    for k, v in timm_sd.items():
        if v.is_floating_point():
            out[timm_to_cream(k)] = state[k].clone()
        else:
            assert k.endswith("num_batches_tracked"), k
            out[timm_to_cream(k)] = torch.zeros((), dtype=torch.int64)
        if k.endswith("attention_biases"):
            mod = attn_modules[k[: -len(".attention_biases")]]
            idxs = attention_bias_idxs(mod.resolution)
            assert torch.equal(idxs, mod.attention_bias_idxs), k
            assert int(idxs.max()) + 1 == v.shape[1], k
            out[timm_to_cream(k[: -len("attention_biases")] + "attention_bias_idxs")] = idxs
    return out


def topk_gaps(logits: np.ndarray, k: int = 5):
    """Per image: top-k class indices and the k gaps (top1-top2, ..., topk-top(k+1))."""
    tops, gaps = [], []
    for row in logits:
        order = np.argsort(-row.astype(np.float64), kind="stable")[: k + 1]
        vals = row[order].astype(np.float64)
        tops.append([int(i) for i in order[:k]])
        gaps.append([float(vals[i] - vals[i + 1]) for i in range(k)])
    return tops, gaps


def make_input(batch: int, h: int, w: int, seed: int) -> torch.Tensor:
    arr = fixture_rng.uniform("input", (batch, 3, h, w), seed, fixture_rng.INPUT_LO, fixture_rng.INPUT_HI)
    return torch.from_numpy(arr)


def write_json(path: str, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")


def write_npy(path: str, arr: np.ndarray) -> None:
    np.save(path, np.ascontiguousarray(arr.astype(np.float32)), allow_pickle=False)


def _f(x: float) -> float:
    """Round-trippable float for JSON (value of a float32/float64 as a Python float)."""
    return float(x)


# ----------------------------------------------------------------------------- cases

def choose_input(model, name: str, b: int, h: int, w: int, accept=None):
    """The first generated input whose top-5 classes are separated by gaps of more than
    GAP_FACTOR · max |logit| in every image (so rounding cannot reorder them), with its logits:
    (seed, x, logits, max_abs, top5 per image, smallest gap). ``accept(model, x)``, when given,
    runs the model itself and returns its logits, or None to reject the input."""
    with torch.no_grad():
        for seed in range(1, MAX_INPUT_SEED + 1):
            x = make_input(b, h, w, seed)
            if accept is None:
                logits = model(x).numpy()
            else:
                out = accept(model, x)
                if out is None:
                    continue
                logits = out.numpy()
            assert logits.shape == (b, 1000)
            if not np.isfinite(logits).all():
                raise RuntimeError(f"{name}: non-finite logits")
            max_abs = float(np.abs(logits).max())
            tops, gaps = topk_gaps(logits)
            min_gap = min(min(g) for g in gaps)
            if min_gap > GAP_FACTOR * max_abs:
                if not (0.1 <= max_abs <= 1e4):
                    raise RuntimeError(f"{name}: max |logit| {max_abs} outside the 0.1..1e4 range; tune the rules")
                return seed, x, logits, max_abs, tops, min_gap
    raise RuntimeError(f"{name}: no input seed <= {MAX_INPUT_SEED} satisfies the top-5 gap criterion")


def run_case(case: dict, out_dir: str) -> dict:
    name = case["name"]
    model = build_timm(case["model"])
    entries = float_entries(model)
    round_f16 = bool(case.get("weights_file"))
    state = generated_state(model, case["weight_seed"], round_f16)
    fill_model(model, state)

    b, h, w = case["batch"], case["height"], case["width"]
    seed, x, logits, max_abs, tops, min_gap = choose_input(model, name, b, h, w)

    with torch.no_grad():
        feats = None
        if case.get("features"):
            feats = model.forward_head(model.forward_features(x), pre_logits=True).numpy()
            again = model.head(torch.from_numpy(feats)).numpy()
            assert np.allclose(again, logits, rtol=1e-5, atol=1e-5 * max_abs)
        m64 = copy.deepcopy(model).double().eval()
        logits64 = m64(x.double()).numpy()
    diff64 = float(np.abs(logits.astype(np.float64) - logits64).max())

    logits_file = f"{name}.logits.npy"
    write_npy(os.path.join(out_dir, logits_file), logits)
    features_file = None
    if feats is not None:
        features_file = f"{name}.features.npy"
        write_npy(os.path.join(out_dir, features_file), feats)

    cream_keys_file = None
    weights_file = case.get("weights_file")
    if case["layout"] == "cream" and not weights_file:
        cream_keys_file = f"{name}.cream_keys.json"
        write_json(os.path.join(out_dir, cream_keys_file), {k: timm_to_cream(k) for k, _ in entries})

    if weights_file:
        assert case["layout"] == "cream"
        # The committed file is make_pth_fixtures.py's; this run proves the Python converter.
        with tempfile.TemporaryDirectory() as td:
            write_cream_file(model, state, os.path.join(td, "m0_cream_f16.safetensors"), x, logits)

    print(f"{name:>15}: input_seed={seed:<3} max|logit|={max_abs:9.4f} min_top5_gap={min_gap:.5f} "
          f"(need > {GAP_FACTOR * max_abs:.5f}) fp32-vs-fp64={diff64:.3g}", flush=True)

    return {
        "name": name,
        "model": case["model"],
        "batch": b,
        "height": h,
        "width": w,
        "weight_seed": case["weight_seed"],
        "weight_rounding": "f16" if round_f16 else None,
        "input_seed": seed,
        "layout": case["layout"],
        "weights_file": weights_file,
        "cream_keys": cream_keys_file,
        "logits": logits_file,
        "features": features_file,
        "max_abs_logit": _f(max_abs),
        "min_top5_gap": _f(min_gap),
        "top5": tops,
        "ref_fp32_vs_fp64_max_abs": _f(diff64),
        "tensors": len(entries),
    }


def write_cream_file(model, state, dst: str, x: torch.Tensor, ref_logits: np.ndarray) -> None:
    """torch.save a real Cream-style checkpoint, convert it with convert_checkpoint.py --dtype f16
    and verify the result reproduces the reference."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    sd = cream_state_dict(model, state)
    with tempfile.TemporaryDirectory() as td:
        pth = os.path.join(td, PTH_NAME)
        torch.save({"model": sd, "epoch": 0}, pth)
        cmd = [sys.executable, os.path.join(_HERE, "convert_checkpoint.py"), pth, dst,
               "--dtype", "f16", "--model", "efficientvit_m0"]
        subprocess.run(cmd, check=True)
        with open(pth, "rb") as f:
            pth_sha = hashlib.sha256(f.read()).hexdigest()

    loaded = load_file(dst)
    with safe_open(dst, framework="pt") as f:
        meta = f.metadata()
    assert meta["layout"] == "cream" and meta["source"] == PTH_NAME and meta["source_sha256"] == pth_sha, meta
    expected = {k for k, v in sd.items() if v.is_floating_point()}
    assert set(loaded) == expected, "converted file keys differ from the Cream float keys"
    for k, v in loaded.items():
        assert v.dtype == torch.float16, k
        assert torch.equal(v.float(), sd[k]), f"{k}: value changed by f16 conversion"
    # Reload through the timm layout and reproduce the reference bit-for-bit.
    m2 = copy.deepcopy(model)
    fill_model(m2, {cream_to_timm(k): v.float() for k, v in loaded.items()})
    with torch.no_grad():
        again = m2(x).numpy()
    assert np.array_equal(again, ref_logits), "logits from the converted file differ"


# ----------------------------------------------------------------------------- Cream check

def import_cream(path: str) -> types.ModuleType:
    """Import Cream's efficientvit.py (shimming its two timm imports if the installed timm
    lacks the old module paths)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from timm.models.layers import SqueezeExcite  # noqa: F401
            from timm.models.vision_transformer import trunc_normal_  # noqa: F401
        shimmed = False
    except ImportError:
        import timm.layers as tl
        import timm.models
        layers = types.ModuleType("timm.models.layers")
        layers.SqueezeExcite = tl.SqueezeExcite
        sys.modules["timm.models.layers"] = layers
        timm.models.layers = layers
        vt = sys.modules.get("timm.models.vision_transformer")
        if vt is None or not hasattr(vt, "trunc_normal_"):
            vt = types.ModuleType("timm.models.vision_transformer")
            sys.modules["timm.models.vision_transformer"] = vt
        vt.trunc_normal_ = tl.trunc_normal_
        shimmed = True
    spec = importlib.util.spec_from_file_location("cream_efficientvit", path)
    mod = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec.loader.exec_module(mod)
    print(f"cream: imported {path} ({'with import shims' if shimmed else 'no shims needed'})")
    return mod


def verify_cream(path: str, out_dir: str) -> list[str]:
    cream = import_cream(path)
    report = []
    for model_name in MODELS:
        tm = build_timm(model_name)
        cm = cream.EfficientViT(img_size=224, patch_size=16, window_size=[7, 7, 7],
                                **CREAM_CONFIGS[model_name])
        csd = cm.state_dict()
        idx_keys = [k for k in csd if k.endswith("attention_bias_idxs")]
        c_keys = [k for k in csd if k not in set(idx_keys)]
        t_sd = tm.state_dict()
        mapped = [timm_to_cream(k) for k in t_sd]
        if len(set(mapped)) != len(mapped):
            raise AssertionError(f"{model_name}: timm_to_cream is not injective")
        if set(mapped) != set(c_keys):
            miss = sorted(set(c_keys) - set(mapped))[:5]
            extra = sorted(set(mapped) - set(c_keys))[:5]
            raise AssertionError(f"{model_name}: key sets differ; cream-only {miss}, mapped-only {extra}")
        for k in t_sd:
            ck = timm_to_cream(k)
            assert cream_to_timm(ck) == k, (k, ck)
            assert tuple(t_sd[k].shape) == tuple(csd[ck].shape), (k, t_sd[k].shape, csd[ck].shape)
        order_same = mapped == c_keys
        for k in idx_keys:
            ab = k[: -len("attention_bias_idxs")] + "attention_biases"
            res = int(round(csd[ab].shape[1] ** 0.5))
            assert torch.equal(csd[k], attention_bias_idxs(res)), k

        state = generated_state(tm, 77, round_f16=False)
        fill_model(tm, state)
        load = {timm_to_cream(k): (v.clone() if v.is_floating_point() else v.clone())
                for k, v in tm.state_dict().items()}
        for k in idx_keys:
            load[k] = csd[k].clone()
        cm.load_state_dict(load, strict=True)
        cm.eval()  # after loading: Cream caches the bias table in train(False)
        x = make_input(2, 224, 224, 1)
        with torch.no_grad():
            lt = tm(x)
            lc = cm(x)
        diff = (lt - lc).abs().max().item()
        scale = lt.abs().max().item()
        ok = diff <= 1e-5 * scale + 1e-6
        se = [k for k in csd if ".se." in k]
        line = (f"{model_name}: {len(c_keys)} keys map 1:1 (shapes equal, "
                f"state-dict order {'identical' if order_same else 'DIFFERENT'}), "
                f"+{len(idx_keys)} attention_bias_idxs; SE keys {sorted({k.split('.se.')[1] for k in se})}; "
                f"max|logit diff| {diff:.3g} (max|logit| {scale:.4g}) {'OK' if ok else 'MISMATCH'}")
        print("cream: " + line, flush=True)
        report.append(line)
        if not ok:
            raise AssertionError(line)

    # The fixture checkpoint itself must load strictly into Cream's M0 and reproduce the logits.
    case = CASES[0]
    tm = build_timm(case["model"])
    state = generated_state(tm, case["weight_seed"], round_f16=True)
    fill_model(tm, state)
    sd = cream_state_dict(tm, state)
    cm = cream.EfficientViT(img_size=224, patch_size=16, window_size=[7, 7, 7], **CREAM_CONFIGS[case["model"]])
    assert list(sd) == list(cm.state_dict()), "fixture checkpoint key order differs from Cream's"
    cm.load_state_dict(sd, strict=True)
    cm.eval()
    manifest = json.load(open(os.path.join(out_dir, "manifest.json")))
    entry = next(c for c in manifest["cases"] if c["name"] == case["name"])
    x = make_input(case["batch"], case["height"], case["width"], entry["input_seed"])
    ref = np.load(os.path.join(out_dir, entry["logits"]))
    with torch.no_grad():
        lc = cm(x).numpy()
    diff = float(np.abs(lc - ref).max())
    line = (f"fixture {PTH_NAME}: loads strictly into Cream M0 (same key order); "
            f"Cream logits vs {entry['logits']}: max abs diff {diff:.3g}")
    print("cream: " + line)
    assert diff <= 1e-5 * entry["max_abs_logit"] + 1e-6
    report.append(line)
    return report


# ----------------------------------------------------------------------------- main

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Generate EfficientViT reference fixtures.")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default: {DEFAULT_OUT})")
    p.add_argument("--cream-src", default=None,
                   help="path to microsoft/Cream EfficientViT/classification/model/efficientvit.py "
                        "to cross-check the Cream layout and logits")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", default=None, help="comma-separated case names (debugging; manifest still lists them only)")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    os.makedirs(args.out, exist_ok=True)

    ref_tensors = {}
    for model_name in MODELS:
        entries = float_entries(build_timm(model_name))
        check_rules_cover(model_name, entries)
        ref_tensors[model_name] = entries
    with open(os.path.join(args.out, "reference_tensors.json"), "w", encoding="utf-8") as f:
        f.write("{\n")
        for mi, model_name in enumerate(MODELS):
            f.write(f"  {json.dumps(model_name)}: [\n")
            rows = ref_tensors[model_name]
            for ri, (n, shape) in enumerate(rows):
                f.write(f"    {json.dumps([n, list(shape)])}{',' if ri + 1 < len(rows) else ''}\n")
            f.write(f"  ]{',' if mi + 1 < len(MODELS) else ''}\n")
        f.write("}\n")

    only = set(args.only.split(",")) if args.only else None
    cases = [c for c in CASES if only is None or c["name"] in only]
    results = [run_case(c, args.out) for c in cases]

    manifest = {
        "generator": {
            "name": fixture_rng.GENERATOR_NAME,
            "rules": fixture_rng.RULES,
            "input_lo": fixture_rng.INPUT_LO,
            "input_hi": fixture_rng.INPUT_HI,
            "input_name": "input",
        },
        "reference": {
            "framework": "timm efficientvit_msra (img_size=224, eval), torch float32",
            "top5_gap_factor": GAP_FACTOR,
            "features": "forward_head(forward_features(x), pre_logits=True)",
        },
        "cases": results,
    }
    write_json(os.path.join(args.out, "manifest.json"), manifest)

    if args.cream_src:
        verify_cream(args.cream_src, args.out)

    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"fixtures in {args.out}: {len(os.listdir(args.out))} files, {total / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
