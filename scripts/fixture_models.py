"""The deterministic generator of fixture_rng.py applied to a PyTorch model: its float tensors in
state-dict order (each tensor once), generated values for them, and the model filled with them.
Shared by every fixture script (make_fixtures.py, make_zoo_fixtures.py, make_nan_fixtures.py,
make_pth_fixtures.py, make_image_fixtures.py). Requires torch (and timm for build_timm)."""

from __future__ import annotations

import torch

import fixture_rng


def build_timm(model_name: str):
    import timm
    return timm.create_model(model_name, pretrained=False).eval()


def float_entries(model) -> list[tuple[str, tuple[int, ...]]]:
    """Ordered [(timm name, shape)] of all float tensors in the state dict, each tensor once: a
    module registered twice (the benchmark's TokenLearner ViT runs its first blocks again) puts
    the same tensor in the state dict under a second name, which is left out."""
    seen, entries = set(), []
    for k, v in model.state_dict(keep_vars=True).items():
        if v.is_floating_point() and id(v) not in seen:
            seen.add(id(v))
            entries.append((k, tuple(v.shape)))
    return entries


def generated_state(model, seed: int, round_f16: bool) -> dict[str, torch.Tensor]:
    out = {}
    for name, shape in float_entries(model):
        arr = fixture_rng.values_for(name, shape, seed, fixture_rng.RULES)
        t = torch.from_numpy(arr)
        if round_f16:
            t = t.half().float()
        out[name] = t
    return out


def fill_model(model, state: dict[str, torch.Tensor]) -> None:
    sd = model.state_dict()
    floats = {k for k, _ in float_entries(model)}
    assert floats == set(state), "generated state does not cover the model's float tensors"
    with torch.no_grad():
        for k in floats:
            assert sd[k].shape == state[k].shape, k
            sd[k].copy_(state[k])
    model.eval()
