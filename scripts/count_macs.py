#!/usr/bin/env python3
"""Independent MAC counts for the registry: fvcore's FlopCountAnalysis of each timm model at its
registry input size (one MAC per multiply-accumulate, as fvcore counts them).

    pip install torch timm fvcore
    python3 scripts/count_macs.py [--bench-src PATH] [model ...]   # default: every registered model

timm's attention normally calls F.scaled_dot_product_attention, which fvcore does not see; it is
switched to the explicit q·kᵀ and attn·v matmuls here so the attention products are counted, as
papers do. The figures go into Models/registry.json (`published.gmacs`, with the source saying so)
where no published figure is precise enough to check the engine's own count against within 2%.

The "Which Transformer to Favor" benchmark's models are built from its checkout (``--bench-src``,
see bench_models.py). fvcore has no count for ``torch.fft.fft2`` (FNet's token mixer); it is
counted here as the dense real DFT the engine computes, ``2·T·C² + 2·T²·C`` MACs for a
``[T, C]`` sequence (Re(F_T·X·F_C) as four real matrix products), and the registry's source
says so. GFNet's ``rfft2``/``irfft2`` are counted the same way (``global_filter_dft_macs``); its
filter's complex product is elementwise, which fvcore does not count.
"""
import json
import os
import sys
import warnings

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def count(name: str, input_size) -> float:
    import timm
    from fvcore.nn import FlopCountAnalysis

    bench_models = sys.modules.get("bench_models")
    model = (bench_models.create(name) if bench_models and name.split("_")[0] in bench_models.FAMILIES
             else timm.create_model(name, pretrained=False).eval())
    for module in model.modules():
        if hasattr(module, "fused_attn"):
            module.fused_attn = False
    analysis = FlopCountAnalysis(model, torch.zeros(1, *input_size))
    analysis.set_op_handle("aten::fft_fft2", dense_dft_macs)
    # rfft2 reads the real map, irfft2 writes it.
    analysis.set_op_handle("aten::fft_rfft2", lambda inputs, outputs: global_filter_dft_macs(inputs[0]))
    analysis.set_op_handle("aten::fft_irfft2", lambda inputs, outputs: global_filter_dft_macs(outputs[0]))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    return analysis.total() / 1e9


def dense_dft_macs(inputs, outputs) -> int:
    from fvcore.nn.jit_handles import get_shape

    *batch, t, c = get_shape(inputs[0])
    n = 1
    for b in batch:
        n *= b
    return n * (2 * t * c * c + 2 * t * t * c)


def global_filter_dft_macs(real_map) -> int:
    """GFNet's ``rfft2`` or ``irfft2`` over ``dim=(1, 2)`` of a real ``[N, h, w, C]`` map, as the
    dense real DFT products the engine computes: along the width ``h·w·2f·C`` (``f = w/2 + 1``
    frequencies, real and imaginary), along the height a complex ``h×h`` product, ``4·h²·f·C``."""
    from fvcore.nn.jit_handles import get_shape

    n, h, w, c = get_shape(real_map)
    f = w // 2 + 1
    return n * (h * w * 2 * f * c + 4 * h * h * f * c)


def main(argv) -> int:
    warnings.simplefilter("ignore")
    if argv[:1] == ["--bench-src"]:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import bench_models

        bench_models.register(argv[1])
        argv = argv[2:]
    registry = json.load(open(os.path.join(ROOT, "Models", "registry.json"), encoding="utf-8"))["models"]
    wanted = set(argv) if argv else None
    for m in registry:
        if wanted is None or m["name"] in wanted:
            print(f"{m['name']:<28} {count(m['name'], m['preprocess']['input_size']):8.3f} GMACs "
                  f"(registry: {m['published']['gmacs']})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
