#!/usr/bin/env python3
"""Key-name mapping between timm's ``efficientvit_msra`` state dict and the
official microsoft/Cream EfficientViT checkpoint layout.

timm                                              Cream
patch_embed.conv{k}.{conv|bn}.*  (k=1..4)         patch_embed.{2(k-1)}.{c|bn}.*
stages.0.blocks.{j}.*                             blocks1.{j}.*
stages.{s}.downsample.res1.{0|1}.*  (s=1,2)       blocks{s+1}.0.{0|1}.*
stages.{s}.downsample.patchmerge.*                blocks{s+1}.1.*
stages.{s}.downsample.res2.{0|1}.*                blocks{s+1}.2.{0|1}.*
stages.{s}.blocks.{j}.*             (s=1,2)       blocks{s+1}.{j+3}.*
... .conv.weight  (ConvNorm's conv)               ... .c.weight
head.linear.*                                     head.l.*
head.bn.*                                         head.bn.*

Cream files additionally carry int64 ``...mixer.m.attn.attention_bias_idxs``
buffers (non-persistent in timm); they map structurally like any other key.
"""

from __future__ import annotations

import re
import sys

_TIMM_PE = re.compile(r"^patch_embed\.conv([1-4])\.(conv|bn)\.(.+)$")
_TIMM_STAGE = re.compile(r"^stages\.(\d+)\.(.+)$")
_CREAM_PE = re.compile(r"^patch_embed\.(\d+)\.(c|bn)\.(.+)$")
_CREAM_BLOCKS = re.compile(r"^blocks([1-9])\.(\d+)\.(.+)$")

# Number of leading entries of blocks2/blocks3 that form the downsample.
_DOWNSAMPLE_ENTRIES = 3


def _rename_leaf(rest: str, old: str, new: str) -> str:
    """Rename a module path component ``old`` -> ``new`` when it is the parent of
    the final attribute (e.g. ``pw1.conv.weight`` -> ``pw1.c.weight``)."""
    parts = rest.split(".")
    if len(parts) >= 2 and parts[-2] == old:
        parts[-2] = new
    return ".".join(parts)


def timm_to_cream(key: str) -> str:
    """Map a timm ``efficientvit_m*`` state-dict key to the Cream layout."""
    m = _TIMM_PE.match(key)
    if m:
        k, child, attr = int(m.group(1)), m.group(2), m.group(3)
        return f"patch_embed.{2 * (k - 1)}.{'c' if child == 'conv' else 'bn'}.{attr}"
    if key.startswith("head."):
        if key.startswith("head.linear."):
            return "head.l." + key[len("head.linear."):]
        if key.startswith("head.bn."):
            return key
        raise ValueError(f"unexpected head key {key!r}")
    m = _TIMM_STAGE.match(key)
    if not m:
        raise ValueError(f"not an EfficientViT (timm) key: {key!r}")
    s, rest = int(m.group(1)), m.group(2)
    group = f"blocks{s + 1}"
    if rest.startswith("blocks."):
        j, tail = rest[len("blocks."):].split(".", 1)
        idx = int(j) + (_DOWNSAMPLE_ENTRIES if s > 0 else 0)
        out = f"{group}.{idx}.{tail}"
    elif rest.startswith("downsample."):
        if s == 0:
            raise ValueError(f"stage 0 has no downsample in EfficientViT: {key!r}")
        sub, tail = rest[len("downsample."):].split(".", 1)
        pos = {"res1": 0, "patchmerge": 1, "res2": 2}.get(sub)
        if pos is None:
            raise ValueError(f"unexpected downsample child in {key!r}")
        out = f"{group}.{pos}.{tail}"
    else:
        raise ValueError(f"unexpected stage key {key!r}")
    return _rename_leaf(out, "conv", "c")


def cream_to_timm(key: str) -> str:
    """Map a Cream EfficientViT state-dict key to the timm layout."""
    m = _CREAM_PE.match(key)
    if m:
        idx, child, attr = int(m.group(1)), m.group(2), m.group(3)
        if idx % 2 or idx > 6:
            raise ValueError(f"unexpected patch_embed index in {key!r}")
        return f"patch_embed.conv{idx // 2 + 1}.{'conv' if child == 'c' else 'bn'}.{attr}"
    if key.startswith("head."):
        if key.startswith("head.l."):
            return "head.linear." + key[len("head.l."):]
        if key.startswith("head.bn."):
            return key
        raise ValueError(f"unexpected head key {key!r}")
    m = _CREAM_BLOCKS.match(key)
    if not m:
        raise ValueError(f"not an EfficientViT (Cream) key: {key!r}")
    g, idx, tail = int(m.group(1)), int(m.group(2)), m.group(3)
    s = g - 1
    if s == 0:
        out = f"stages.0.blocks.{idx}.{tail}"
    elif idx < _DOWNSAMPLE_ENTRIES:
        sub = ("res1", "patchmerge", "res2")[idx]
        out = f"stages.{s}.downsample.{sub}.{tail}"
    else:
        out = f"stages.{s}.blocks.{idx - _DOWNSAMPLE_ENTRIES}.{tail}"
    return _rename_leaf(out, "c", "conv")


def detect_layout(keys) -> str:
    """'cream', 'timm' or 'unknown' from a collection of state-dict keys."""
    keys = list(keys)
    cream = any(k.startswith(("blocks1.", "blocks2.", "patch_embed.0.", "head.l.")) for k in keys)
    timm = any(k.startswith(("stages.", "patch_embed.conv1.", "head.linear.")) for k in keys)
    if cream and not timm:
        return "cream"
    if timm and not cream:
        return "timm"
    return "unknown"


def _self_test() -> None:
    cases = {
        "patch_embed.conv1.conv.weight": "patch_embed.0.c.weight",
        "patch_embed.conv4.bn.running_var": "patch_embed.6.bn.running_var",
        "stages.0.blocks.0.mixer.m.attn.attention_biases": "blocks1.0.mixer.m.attn.attention_biases",
        "stages.0.blocks.0.ffn0.m.pw1.conv.weight": "blocks1.0.ffn0.m.pw1.c.weight",
        "stages.1.downsample.res1.0.m.conv.weight": "blocks2.0.0.m.c.weight",
        "stages.1.downsample.res1.1.m.pw2.bn.bias": "blocks2.0.1.m.pw2.bn.bias",
        "stages.1.downsample.patchmerge.se.fc1.weight": "blocks2.1.se.fc1.weight",
        "stages.1.downsample.patchmerge.conv2.conv.weight": "blocks2.1.conv2.c.weight",
        "stages.2.downsample.res2.0.m.bn.weight": "blocks3.2.0.m.bn.weight",
        "stages.2.blocks.2.mixer.m.attn.proj.1.conv.weight": "blocks3.5.mixer.m.attn.proj.1.c.weight",
        "stages.1.blocks.0.mixer.m.attn.qkvs.1.bn.running_mean": "blocks2.3.mixer.m.attn.qkvs.1.bn.running_mean",
        "head.linear.weight": "head.l.weight",
        "head.bn.running_var": "head.bn.running_var",
    }
    for t, c in cases.items():
        assert timm_to_cream(t) == c, (t, timm_to_cream(t), c)
        assert cream_to_timm(c) == t, (c, cream_to_timm(c), t)


if __name__ == "__main__":
    _self_test()
    if len(sys.argv) > 1:
        for k in sys.argv[1:]:
            try:
                print(k, "->", timm_to_cream(k))
            except ValueError:
                print(k, "->", cream_to_timm(k))
    else:
        print("cream_layout self-test OK")
