"""Registers the "Which Transformer to Favor" benchmark's models (tobna/WhatTransformerToFavor,
``architectures/*.py``) with timm, from a checkout given by path, for fixture generation and MAC
counting. The benchmark's code is read from the checkout, never copied into this repository.

The benchmark was written against an older timm; two adapters let its classes run on the timm
installed here without touching their arithmetic:

* timm's ``Block.__init__`` renamed ``drop`` to ``proj_drop`` (the benchmark's Linformer block
  still passes ``drop``): ``drop`` is forwarded as ``proj_drop`` (both 0 at inference).
* timm's ``Block.forward`` now passes ``attn_mask``/``is_causal`` to the attention module, which
  the benchmark's ``FFT``, ``LinearAttention`` and Synthesizer attention modules do not take:
  they are dropped (both unused, None/False).
"""

from __future__ import annotations

import importlib
import sys

MODULES = ("linformer", "fnet", "tome", "linear_transformer", "synthesizer", "switch_transformer", "evit", "gfnet", "nystrom", "performer", "poly_sa", "token_learner", "dynamic_vit")
# Registry families (the first part of the benchmark's model names) built from the checkout.
FAMILIES = ("linformer", "fnet", "tome", "linear", "synthesizer", "switch", "evit", "gfnet", "nystrom64", "nystrom32", "performer", "polysa", "token", "dynamic")

# Registry models built by one of the benchmark's builders with arguments of their own:
# registry name -> (builder, arguments). EViT takes the settings of the official release
# (youweiliang/evit, main.py: base_keep_rate 0.7 at drop_loc (3, 6, 9); its Model Zoo's
# EViT/0.7-DeiT-S with and without token fusion); the benchmark's builders default to
# keep_rate 1, which drops nothing.
EVIT_KEEP_RATE = tuple(0.7 if i in (3, 6, 9) else 1 for i in range(12))
BUILDS = {
    "evit_small_patch16_224": ("evit_small_patch16_fuse", dict(keep_rate=EVIT_KEEP_RATE)),
    "evit_small_patch16_224_nofuse": ("evit_small_patch16", dict(keep_rate=EVIT_KEEP_RATE)),
}


def create(name: str, **kwargs):
    """``timm.create_model(name)`` of a benchmark model (or of the builder ``BUILDS`` names for a
    registry name, with its arguments), in eval mode. The benchmark's FNet builders
    set ``num_heads = 1`` in its shared ``vit_sizes`` table itself (not a copy), which would give
    every ViT-sized model built after them one head; the table is restored after each build."""
    import copy

    import timm
    from resizing_interface import vit_sizes

    builder, arguments = BUILDS.get(name, (name, {}))
    saved = copy.deepcopy(vit_sizes)
    try:
        return timm.create_model(builder, pretrained=False, **arguments, **kwargs).eval()
    finally:
        vit_sizes.clear()
        vit_sizes.update(saved)


def describe(name: str) -> str:
    """The benchmark's builder of a registry model, with the arguments ``BUILDS`` gives it."""
    builder, arguments = BUILDS.get(name, (name, {}))
    return builder + "".join(f" {k}={v}" for k, v in arguments.items())


class MatchingMargins:
    """Records, while active, how far every discrete choice of ToMe's bipartite soft matching is
    from a tie, in float64: the gap between the r-th and (r+1)-th best edge (which a-tokens
    merge) and, for every merged a-token, between its best and second-best b-token (where it
    goes). An engine computing the same scores with a different summation order makes the same
    choices when these gaps are far above float32 rounding (~1e-6 on cosine scores)."""

    def __init__(self):
        self.smallest = float("inf")

    def __enter__(self):
        import torch

        tome = sys.modules["architectures.tome"]
        self._original = original = tome.bipartite_soft_matching

        def matching(metric, r, class_token, distill_token):
            m = metric.double()
            m = m / m.norm(dim=-1, keepdim=True)
            scores = m[..., ::2, :] @ m[..., 1::2, :].transpose(-1, -2)
            if class_token:
                scores[..., 0, :] = -float("inf")
            r_used = min(r, (metric.shape[1] - (1 if class_token else 0)) // 2)
            if r_used > 0:
                best = scores.topk(2, dim=-1).values
                node_max = best[..., 0]
                order = node_max.sort(dim=-1, descending=True)
                boundary = order.values[..., r_used - 1] - order.values[..., r_used]
                merged = order.indices[..., :r_used]
                second = (best[..., 0] - best[..., 1]).gather(-1, merged)
                gaps = torch.cat([boundary[..., None], second], dim=-1)
                finite = gaps[torch.isfinite(gaps)]
                if finite.numel():
                    self.smallest = min(self.smallest, float(finite.min()))
            return original(metric, r, class_token, distill_token)

        tome.bipartite_soft_matching = matching
        return self

    def __exit__(self, *exc):
        sys.modules["architectures.tome"].bipartite_soft_matching = self._original
        return False


class RoutingMargins:
    """Records, while active, how far every Switch router choice is from a tie: the smallest gap,
    in float64, between a token's largest and second-largest router logit over all blocks. The
    engine routes by the same logits summed in another order; its choices are the reference's
    when these gaps are far above float32 rounding."""

    def __init__(self, model):
        self.model = model
        self.smallest = float("inf")

    def __enter__(self):
        def hook(module, args, out):
            x = args[0].double()
            logits = x @ module.weight.double().T + module.bias.double()
            top = logits.topk(2, dim=-1).values
            self.smallest = min(self.smallest, float((top[..., 0] - top[..., 1]).min()))

        self._hooks = [m.register_forward_hook(hook) for name, m in self.model.named_modules()
                       if name.endswith(".mlp.switch")]
        return self

    def __exit__(self, *exc):
        for h in self._hooks:
            h.remove()
        return False


class SelectionMargins:
    """Records, while active, how far EViT's token removal is from a tie: in every shrinking
    block, the gap between the class attention (in float64, averaged over heads) of the last
    token kept and of the first token dropped, relative to the former. The engine ranks the same
    scores computed in another summation order; it keeps the reference's tokens when these gaps
    are far above float32 rounding."""

    def __init__(self, model):
        self.model = model
        self.smallest = float("inf")

    def __enter__(self):
        def hook(module, args, out):
            kept = out[4]
            if out[1] is None:
                return
            x = args[0].double()
            n, t, c = x.shape
            qkv = x @ module.qkv.weight.double().T
            if module.qkv.bias is not None:
                qkv = qkv + module.qkv.bias.double()
            qkv = qkv.reshape(n, t, 3, module.num_heads, c // module.num_heads).permute(2, 0, 3, 1, 4)
            attn = ((qkv[0] @ qkv[1].transpose(-2, -1)) * module.scale).softmax(dim=-1)
            ranked = attn[:, :, 0, 1:].mean(dim=1).sort(dim=1, descending=True).values
            gap = (ranked[:, kept - 1] - ranked[:, kept]) / ranked[:, kept - 1]
            self.smallest = min(self.smallest, float(gap.min()))

        self._hooks = [m.attn.register_forward_hook(hook) for m in self.model.blocks]
        return self

    def __exit__(self, *exc):
        for h in self._hooks:
            h.remove()
        return False


class PruningMargins:
    """Records, while active, how far DynamicViT's eval-mode pruning is from a tie: before every
    pruning block, the gap between the keep scores (the predictor's log-probabilities) of the last
    token kept and the first token dropped. The engine ranks the same scores computed in another
    summation order; it keeps the reference's tokens when these gaps are far above float32
    rounding of the scores (~1e-7 here)."""

    def __init__(self, model):
        self.model = model
        self.smallest = float("inf")

    def __enter__(self):
        def hook(index):
            def record(module, args, out):
                kept = int(self.model.patch_embed.num_patches * self.model.token_ratio[index])
                scores = out[:, :, 0].double().sort(dim=1, descending=True).values
                if 0 < kept < scores.shape[1]:
                    self.smallest = min(self.smallest, float((scores[:, kept - 1] - scores[:, kept]).min()))
            return record

        self._hooks = [m.register_forward_hook(hook(i)) for i, m in enumerate(self.model.score_predictor)]
        return self

    def __exit__(self, *exc):
        for h in self._hooks:
            h.remove()
        return False


def double_reference(model):
    """A float64 copy of a model, for the fixtures' fp32-vs-fp64 check. The benchmark's
    ``SwitchMlp`` routes in float32 (``self.switch(x.float())``, to keep mixed-precision training
    from rounding the router); in the float64 copy its router gets its input back in float64."""
    import copy

    twin = copy.deepcopy(model).double().eval()
    for name, module in twin.named_modules():
        if name.endswith(".mlp.switch"):
            module.register_forward_pre_hook(lambda m, args: (args[0].to(m.weight.dtype),))
    return twin


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
    # Token mixers written before timm's Block passed attn_mask/is_causal to its attention.
    for module, cls in (("fnet", "FFT"), ("linear_transformer", "LinearAttention"),
                        ("synthesizer", "FactorizedDenseAttention"), ("synthesizer", "FactorizedRandomAttention"),
                        ("nystrom", "NysAttention"), ("poly_sa", "PolySelfAttention")):
        mixer = getattr(sys.modules["architectures." + module], cls)
        if not getattr(mixer.forward, "_bench_compat", False):
            mixer.forward = _without_attention_mask(mixer.forward)


def _without_attention_mask(forward):
    def wrapped(self, x, attn_mask=None, is_causal=False):
        return forward(self, x)

    wrapped._bench_compat = True
    return wrapped
