"""Registers the "Which Transformer to Favor" benchmark's models (tobna/WhatTransformerToFavor,
``architectures/*.py``) with timm, from a checkout given by path, for fixture generation and MAC
counting. The benchmark's code is read from the checkout, never copied into this repository.

The benchmark was written against an older timm; two adapters let its classes run on the timm
installed here without touching their arithmetic:

* timm's ``Block.__init__`` renamed ``drop`` to ``proj_drop`` (the benchmark's Linformer block
  still passes ``drop``): ``drop`` is forwarded as ``proj_drop`` (both 0 at inference).
* timm's ``Block.forward`` now passes ``attn_mask``/``is_causal`` to the attention module, which
  the benchmark's ``FFT`` module does not take: they are dropped (both unused, None/False).
"""

from __future__ import annotations

import importlib
import sys

MODULES = ("linformer", "fnet")
# Registry families (the first part of the benchmark's model names) built from the checkout.
FAMILIES = ("linformer", "fnet")


def create(name: str, **kwargs):
    """``timm.create_model(name)`` of a benchmark model, in eval mode. The benchmark's FNet builders
    set ``num_heads = 1`` in its shared ``vit_sizes`` table itself (not a copy), which would give
    every ViT-sized model built after them one head; the table is restored after each build."""
    import copy

    import timm
    from resizing_interface import vit_sizes

    saved = copy.deepcopy(vit_sizes)
    try:
        return timm.create_model(name, pretrained=False, **kwargs).eval()
    finally:
        vit_sizes.clear()
        vit_sizes.update(saved)


def register(bench_src: str) -> None:
    """Imports the benchmark's architecture modules so that ``timm.create_model`` knows them."""
    if bench_src not in sys.path:
        sys.path.insert(0, bench_src)
    import timm.models.vision_transformer as tv

    if not getattr(tv.Block.__init__, "_bench_compat", False):
        original = tv.Block.__init__

        def init(self, *args, drop=None, **kwargs):
            if drop is not None:
                kwargs.setdefault("proj_drop", drop)
            original(self, *args, **kwargs)

        init._bench_compat = True
        tv.Block.__init__ = init
    for name in MODULES:
        importlib.import_module("architectures." + name)
    fnet = sys.modules["architectures.fnet"]
    if not getattr(fnet.FFT.forward, "_bench_compat", False):
        fft = fnet.FFT.forward

        def forward(self, x, attn_mask=None, is_causal=False):
            return fft(self, x)

        forward._bench_compat = True
        fnet.FFT.forward = forward
