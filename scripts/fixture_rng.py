#!/usr/bin/env python3
"""Deterministic tensor generator for the EfficientViT test fixtures ("splitmix64-v1").

The Swift test suite reimplements this generator bit-exactly, so every detail
below is part of the contract:

* All integer arithmetic is on unsigned 64-bit integers and wraps mod 2**64.
* ``fnv1a64(bytes)``: h = 0xcbf29ce484222325; per byte: h ^= byte; h *= 0x100000001b3.
* ``mix(z)``: z ^= z >> 30; z *= 0xbf58476d1ce4e5b9; z ^= z >> 27;
  z *= 0x94d049bb133111eb; z ^= z >> 31.
* For a tensor called ``name`` (UTF-8) with ``n`` elements and generator seed
  ``seed``: s = fnv1a64(name) ^ seed; element i (0-based, row-major):
  z = mix(s + (i + 1) * 0x9e3779b97f4a7c15); u = float64(z >> 40) / 16777216.0;
  value = float32(lo + (hi - lo) * u)   (evaluated in float64 in exactly that
  order, then rounded to float32, round-to-nearest-even).
* lo/hi come from the first rule in an ordered list whose ``suffix`` the tensor
  name ends with.  Rules are either {"suffix", "lo", "hi"} or
  {"suffix", "fan_in_gain": g} meaning a = g / sqrt(fan_in) (float64, fan_in =
  product of shape[1:], i.e. 1 for a 1-D tensor), lo = -a, hi = a.
* Names and shapes are those of the timm layout (conv weights 4-D).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

GENERATOR_NAME = "splitmix64-v1"

MASK64 = (1 << 64) - 1
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
GOLDEN = 0x9E3779B97F4A7C15
MIX_M1 = 0xBF58476D1CE4E5B9
MIX_M2 = 0x94D049BB133111EB

INPUT_LO = -2.0
INPUT_HI = 2.0

# Ordered: the first rule whose suffix matches wins.  Stored verbatim in the
# fixture manifest so the Swift test uses exactly the same rules.
RULES = [
    {"suffix": ".running_var", "lo": 0.5, "hi": 2.0},
    {"suffix": ".running_mean", "lo": -0.5, "hi": 0.5},
    # Last BatchNorm of every residual branch (dw0/dw1/res*.0 ConvNorm, ConvMlp.pw2,
    # attention proj): smaller gains keep the residual stream from growing with depth.
    # With the plain [0.4, 1.2] range efficientvit_m5's residual stream reached ~190 and
    # its attention logits ~900, so fp32 vs fp64 logits differed by 0.25 (ill-conditioned).
    {"suffix": ".m.bn.weight", "lo": 0.3, "hi": 0.8},
    {"suffix": ".pw2.bn.weight", "lo": 0.3, "hi": 0.8},
    {"suffix": ".proj.1.bn.weight", "lo": 0.3, "hi": 0.8},
    # EfficientFormerV2: the same for the last BatchNorm of its FFN and attention branches (with
    # the generic range efficientformerv2_l's 35 blocks grew the logits to ~500).
    {"suffix": ".mlp.fc2.bn.weight", "lo": 0.3, "hi": 0.8},
    {"suffix": ".token_mixer.proj.bn.weight", "lo": 0.3, "hi": 0.8},
    {"suffix": ".bn.weight", "lo": 0.4, "hi": 1.2},
    {"suffix": ".bn.bias", "lo": -0.3, "hi": 0.3},
    {"suffix": "attention_biases", "lo": -2.0, "hi": 2.0},
    # Transformers (ViT and the model zoo): LayerNorm scales around 1, LayerScale well away from
    # its 1e-6 init so the branches matter, class tokens and position embeddings of the
    # patch embedding's order of magnitude.
    {"suffix": "norm1.weight", "lo": 0.5, "hi": 1.5},
    {"suffix": "norm2.weight", "lo": 0.5, "hi": 1.5},
    {"suffix": "norm.weight", "lo": 0.5, "hi": 1.5},
    {"suffix": ".gamma", "lo": 0.2, "hi": 0.8},
    {"suffix": ".gamma_1", "lo": 0.2, "hi": 0.8},  # CaiT's LayerScale
    {"suffix": ".gamma_2", "lo": 0.2, "hi": 0.8},
    {"suffix": ".gamma1", "lo": 0.2, "hi": 0.8},  # XCiT's LayerScale
    {"suffix": ".gamma2", "lo": 0.2, "hi": 0.8},
    {"suffix": ".gamma3", "lo": 0.2, "hi": 0.8},
    {"suffix": ".temperature", "lo": 0.5, "hi": 1.5},
    {"suffix": "cls_token", "lo": -1.0, "hi": 1.0},
    {"suffix": "pos_embed", "lo": -0.5, "hi": 0.5},
    # Linformer's [T, k] sequence projections: the benchmark's own init range, ±1/sqrt(k).
    {"suffix": ".proj_k", "fan_in_gain": 1.0},
    {"suffix": ".proj_v", "fan_in_gain": 1.0},
    # The random Synthesizer's attention factors [H, L, f], [H, f, L]: products of f = 8 terms
    # of ±1 give scores of order 1, as softmax inputs should be.
    {"suffix": ".random_attn_1", "lo": -1.0, "hi": 1.0},
    {"suffix": ".random_attn_2", "lo": -1.0, "hi": 1.0},
    # GFNet's global filters [h, w/2 + 1, C, 2]: complex gains of order 1 (the benchmark's init,
    # 0.02·randn, would make the filter's output all LayerNorm epsilon).
    {"suffix": ".complex_weight", "lo": -1.0, "hi": 1.0},
    # The Performer's random features [m, d] (a buffer drawn at init): entries of unit variance,
    # as the Gaussian rows the reference draws.
    {"suffix": ".projection_matrix", "lo": -1.7, "hi": 1.7},
    # Poly-SA's per-position weights [heads, T] of the modulator and of each token's scale.
    {"suffix": ".attn.p1", "lo": -1.0, "hi": 1.0},
    {"suffix": ".attn.p2", "lo": -1.0, "hi": 1.0},
    # DynamicViT's predictor (its `in_conv.1` is a Linear, which the BatchNorm rule `.1.weight`
    # below would make all positive and large, saturating the keep scores' log-softmax into ties).
    {"suffix": ".in_conv.1.weight", "fan_in_gain": math.sqrt(3.0)},
    # Swin's relative-position bias tables: of the attention scores' order, so every table entry
    # (and the index the engine derives for it) changes the result.
    {"suffix": "relative_position_bias_table", "lo": -1.0, "hi": 1.0},
    # ResNet (timm names bn1..bn3, downsample.1): as EfficientViT, the last BatchNorm of each
    # residual branch gets the smaller scales.
    {"suffix": "bn3.weight", "lo": 0.2, "hi": 0.5},
    {"suffix": "bn1.weight", "lo": 0.4, "hi": 1.2},
    {"suffix": "bn2.weight", "lo": 0.4, "hi": 1.2},
    {"suffix": "downsample.1.weight", "lo": 0.4, "hi": 1.2},
    # XCiT: the stem's BatchNorms (patch_embed.proj.N.1) and the local patch interaction's.
    {"suffix": ".1.weight", "lo": 0.4, "hi": 1.2},
    {"suffix": "local_mp.bn.weight", "lo": 0.4, "hi": 1.2},
    {"suffix": ".bias", "lo": -0.2, "hi": 0.2},
    {"suffix": ".weight", "fan_in_gain": math.sqrt(3.0)},
]


def fnv1a64(data: bytes | str) -> int:
    """64-bit FNV-1a hash of ``data`` (a str is encoded as UTF-8)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    h = FNV_OFFSET
    for b in data:
        h ^= b
        h = (h * FNV_PRIME) & MASK64
    return h


def mix_scalar(z: int) -> int:
    """splitmix64 finalizer on a Python int (reference / self-check)."""
    z &= MASK64
    z ^= z >> 30
    z = (z * MIX_M1) & MASK64
    z ^= z >> 27
    z = (z * MIX_M2) & MASK64
    z ^= z >> 31
    return z


def _mix(z: np.ndarray) -> np.ndarray:
    """Vectorized splitmix64 finalizer on a uint64 array (wrapping)."""
    with np.errstate(over="ignore"):
        z = z ^ (z >> np.uint64(30))
        z = z * np.uint64(MIX_M1)
        z = z ^ (z >> np.uint64(27))
        z = z * np.uint64(MIX_M2)
        z = z ^ (z >> np.uint64(31))
    return z


def raw_u64(name: str, n: int, seed: int) -> np.ndarray:
    """The n raw 64-bit outputs z_i for tensor ``name`` and ``seed``."""
    s = (fnv1a64(name) ^ (seed & MASK64)) & MASK64
    with np.errstate(over="ignore"):
        idx = np.arange(1, n + 1, dtype=np.uint64)
        z = idx * np.uint64(GOLDEN) + np.uint64(s)
    return _mix(z)


def uniform(name: str, shape: Sequence[int], seed: int, lo: float, hi: float) -> np.ndarray:
    """float32 array of ``shape`` with values in [lo, hi) (see module docstring)."""
    shape = tuple(int(d) for d in shape)
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    z = raw_u64(name, n, seed)
    u = (z >> np.uint64(40)).astype(np.float64) / 16777216.0
    lo = float(lo)
    hi = float(hi)
    vals = lo + (hi - lo) * u  # float64, in exactly this order
    return vals.astype(np.float32).reshape(shape)


def fan_in(shape: Sequence[int]) -> int:
    """Product of shape[1:] (1 for 0-D/1-D tensors)."""
    f = 1
    for d in tuple(shape)[1:]:
        f *= int(d)
    return f


def rule_for(name: str, rules: Iterable[dict] = RULES) -> dict:
    for r in rules:
        if name.endswith(r["suffix"]):
            return r
    raise KeyError(f"no generator rule matches tensor {name!r}")


def bounds_for(name: str, shape: Sequence[int], rules: Iterable[dict] = RULES) -> tuple[float, float]:
    r = rule_for(name, rules)
    if "fan_in_gain" in r:
        a = float(r["fan_in_gain"]) / math.sqrt(float(fan_in(shape)))
        return -a, a
    return float(r["lo"]), float(r["hi"])


def values_for(name: str, shape: Sequence[int], seed: int, rules: Iterable[dict] = RULES) -> np.ndarray:
    """Generated float32 values for parameter/buffer ``name`` (timm layout)."""
    lo, hi = bounds_for(name, shape, rules)
    return uniform(name, shape, seed, lo, hi)


def _self_check() -> None:
    # Published FNV-1a 64 test vectors.
    assert fnv1a64(b"") == 0xCBF29CE484222325
    assert fnv1a64(b"a") == 0xAF63DC4C8601EC8C
    assert fnv1a64(b"foobar") == 0x85944171F73967E8
    # splitmix64 with state 0: first output is mix(0 + golden).
    assert mix_scalar(GOLDEN) == 0xE220A8397B1DCDAF
    # Vectorized path agrees with the scalar reference.
    s = fnv1a64("abc") ^ 7
    ref = [mix_scalar(s + (i + 1) * GOLDEN) for i in range(8)]
    assert [int(v) for v in raw_u64("abc", 8, 7)] == ref
    for i, z in enumerate(ref):
        u = float(z >> 40) / 16777216.0
        v = np.float32(-1.0 + (1.0 - (-1.0)) * u)
        assert v == uniform("abc", (8,), 7, -1.0, 1.0)[i]
    # Every rule kind resolves.
    assert bounds_for("x.bn.running_var", (4,)) == (0.5, 2.0)
    lo, hi = bounds_for("head.linear.weight", (1000, 192))
    assert hi == math.sqrt(3.0) / math.sqrt(192.0) and lo == -hi


if __name__ == "__main__":
    _self_check()
    print("self-check OK")
    print(f"fnv1a64('abc') = 0x{fnv1a64('abc'):016x}")
    print(f"fnv1a64('input') = 0x{fnv1a64('input'):016x}")
    z = raw_u64("abc", 4, 7)
    print("raw z for ('abc', seed 7):", ", ".join(f"0x{int(v):016x}" for v in z))
    vals = uniform("abc", (4,), 7, -1.0, 1.0)
    print("uniform('abc', (4,), 7, -1.0, 1.0) =",
          "[" + ", ".join(format(float(v), ".9g") for v in vals) + "]")
    print("  float32 bit patterns:", ", ".join(f"0x{int(b):08x}" for b in vals.view(np.uint32)))
    w = values_for("patch_embed.conv1.conv.weight", (8, 3, 3, 3), 1)
    print("values_for('patch_embed.conv1.conv.weight', (8,3,3,3), seed 1)[0,0,0,:3] =",
          [format(float(v), ".9g") for v in w[0, 0, 0, :3]])
    x = uniform("input", (1, 3, 2, 2), 1, INPUT_LO, INPUT_HI)
    print("uniform('input', (1,3,2,2), 1, -2, 2).ravel()[:4] =",
          [format(float(v), ".9g") for v in x.ravel()[:4]])
