#!/usr/bin/env python3
"""Generate the PyTorch-checkpoint (.pth) fixtures for the Swift `.pth` reader tests.

    python3 scripts/make_pth_fixtures.py [--cream-src /tmp/cream_efficientvit.py] [--out DIR]

(Without ``--cream-src`` every file but m0_cream_f16.pth is regenerated.)

Every file is written by real ``torch.save`` (except the zip64 copy, which repackages one of
them). Outputs (default ``Tests/ViTEngineTests/Fixtures/pth``):

  m0_cream_f16.pth        the weights of the ``m0_224_b2`` parity case (generator seed 11, rounded
                          to float16, as in make_fixtures.py) as a float16 state dict in the
                          official Cream layout, built from the official Cream model code
                          (``--cream-src``: microsoft/Cream EfficientViT/classification/model/
                          efficientvit.py, fetched for generation and never committed): Cream's
                          key order and its int64 ``attention_bias_idxs`` / ``num_batches_tracked``
                          buffers, wrapped as ``{'model': sd, 'epoch': 300, 'max_accuracy': 63.2,
                          'args': argparse.Namespace(...)}``.  Loading it strictly into Cream's M0
                          reproduces the committed reference logits (checked here).
  tiny_timm.pth           a bare OrderedDict state dict (with ``_metadata``) of small tensors:
                          an ``nn.Parameter``, a transposed view saved as is, a slice with a storage
                          offset, two views sharing one storage, float16, bfloat16, float64 and an
                          int64 buffer.
  tiny_timm.expected.json  for every tensor of tiny_timm.pth: dtype, shape and its values in
                          row-major order (as float32, after the dtype's rounding).
  tiny_timm_zip64.pth     the members of tiny_timm.pth repackaged with zip64 central-directory
                          fields and end records (what torch writes for archives past 4 GiB).
  tiny_bench.tar          the layout of the "Which Transformer to Favor" benchmark's checkpoints
                          (its utils.save_model_state): ``{'epoch', 'model_state', 'run_name',
                          'args', 'stats'}`` with the state dict saved from a torch.compile'd
                          DistributedDataParallel model (keys ``_orig_mod.module.…``) and plain
                          values in ``args``/``stats``.
  evil_os_system.pth      a pickle whose loading calls os.system('touch MARKER') ...
  evil_builtins_eval.pth  ... builtins.eval(...) and
  evil_subprocess_popen.pth  ... subprocess.Popen([...]): the loader must refuse each by name.
                          This script proves the first one is live: it loads it with
                          torch.load(weights_only=False) in a child process and checks that the
                          marker appears, then deletes it.

The script is deterministic (fixed archive names), so regenerating gives identical files.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

import numpy as np
import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import make_fixtures as mf  # noqa: E402
from cream_layout import cream_to_timm  # noqa: E402

REPO_ROOT = os.path.dirname(_HERE)
DEFAULT_OUT = os.path.join(REPO_ROOT, "Tests", "ViTEngineTests", "Fixtures", "pth")
MARKER = "/tmp/vit_engine_pickle_exploit_marker"


def save(obj, out_dir: str, name: str) -> str:
    """torch.save under a fixed archive name (torch names the zip's top folder after the file)."""
    path = os.path.join(out_dir, name)
    torch.save(obj, path)
    return path


# ----------------------------------------------------------------------------- Cream m0

def cream_m0(cream_src: str, out_dir: str) -> None:
    cream = mf.import_cream(cream_src)
    case = mf.CASES[0]
    assert case["name"] == "m0_224_b2" and case["weights_file"], case
    tm = mf.build_timm(case["model"])
    state = mf.generated_state(tm, case["weight_seed"], round_f16=True)
    cm = cream.EfficientViT(img_size=224, patch_size=16, window_size=[7, 7, 7], **mf.CREAM_CONFIGS[case["model"]])
    sd = collections.OrderedDict()
    for key, value in cm.state_dict().items():  # Cream's own keys, order and int64 buffers
        if value.is_floating_point():
            sd[key] = state[cream_to_timm(key)].half()
        else:
            sd[key] = value.clone()
    assert any(k.endswith("attention_bias_idxs") for k in sd) and any(k.endswith("num_batches_tracked") for k in sd)
    args = argparse.Namespace(model="EfficientViT_M0", lr=1e-3, epochs=300)
    path = save({"model": sd, "epoch": 300, "max_accuracy": 63.2, "args": args}, out_dir, "m0_cream_f16.pth")

    # The file loads strictly into the official model and reproduces the committed reference.
    loaded = torch.load(path, map_location="cpu", weights_only=False)["model"]
    cm.load_state_dict({k: (v.float() if v.is_floating_point() else v) for k, v in loaded.items()}, strict=True)
    cm.eval()
    fixtures = os.path.dirname(out_dir)
    manifest = json.load(open(os.path.join(fixtures, "manifest.json")))
    entry = next(c for c in manifest["cases"] if c["name"] == case["name"])
    x = mf.make_input(case["batch"], case["height"], case["width"], entry["input_seed"])
    ref = np.load(os.path.join(fixtures, entry["logits"]))
    with torch.no_grad():
        diff = float(np.abs(cm(x).numpy() - ref).max())
    assert diff <= 1e-5 * entry["max_abs_logit"], diff
    print(f"m0_cream_f16.pth: {len(sd)} entries, Cream M0 logits vs {entry['logits']}: max abs diff {diff:.3g}")


# ----------------------------------------------------------------------------- benchmark layout

def bench_layout(out_dir: str) -> None:
    g = torch.Generator().manual_seed(6)
    sd = collections.OrderedDict()
    sd["_orig_mod.module.cls_token"] = torch.randn(1, 1, 4, generator=g)
    sd["_orig_mod.module.blocks.0.attn.proj_k"] = torch.randn(5, 3, generator=g)
    state = {"epoch": 300, "model_state": sd, "run_name": "linformer_vit_tiny_patch16",
             "args": {"model": "linformer_vit_tiny_patch16", "imsize": 224, "lr": 1e-3, "compile_model": True,
                      "layer_scale_init_values": None, "aug_crop": True, "milestones": [10, 20]},
             "stats": {"val_acc": 0.5, "epoch_acc": 0.25}}
    save(state, out_dir, "tiny_bench.tar")


# ----------------------------------------------------------------------------- tiny state dict

def tiny(out_dir: str) -> None:
    g = torch.Generator().manual_seed(5)
    base = torch.randn(4, 6, generator=g)
    shared = torch.randn(20, generator=g)
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.nn.Parameter(torch.randn(3, 2, 1, 1, generator=g))
    sd["proj.transposed"] = base.t()                       # non-contiguous: shape (6, 4), strides (1, 6)
    sd["proj.slice"] = shared[3:11].view(2, 4)             # storage offset 3, shares `shared`'s storage
    sd["proj.strided"] = shared[::5]                        # offset 0, stride 5, same storage again
    sd["norm.half"] = torch.randn(5, generator=g).half()
    sd["norm.bfloat"] = torch.randn(2, 3, generator=g).bfloat16()
    sd["norm.double"] = torch.randn(3, generator=g).double()
    sd["norm.scalar"] = torch.tensor(2.5)
    sd["attn.attention_bias_idxs"] = torch.arange(12).view(3, 4)
    sd["norm.num_batches_tracked"] = torch.tensor(7)
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    assert not sd["proj.transposed"].is_contiguous() and sd["proj.slice"].storage_offset() == 3
    save(sd, out_dir, "tiny_timm.pth")

    expected = {}
    for k, v in sd.items():
        dtype = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
                 torch.float64: "F64", torch.int64: "I64"}[v.dtype]
        expected[k] = {"dtype": dtype, "shape": list(v.shape),
                       "values": [float(x) for x in v.detach().float().reshape(-1).tolist()]}
    with open(os.path.join(out_dir, "tiny_timm.expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    zip64_copy(os.path.join(out_dir, "tiny_timm.pth"), os.path.join(out_dir, "tiny_timm_zip64.pth"))


def zip64_copy(src: str, dst: str) -> None:
    """Repackage a stored zip with zip64 extra fields in every central entry (sizes and offset
    saturated to 0xFFFFFFFF) and zip64 end records, as torch writes for archives past 4 GiB."""
    members = []
    with zipfile.ZipFile(src) as z:
        for info in z.infolist():
            members.append((info.filename, z.read(info.filename)))
    out = bytearray()
    central = bytearray()
    for name, data in members:
        encoded = name.encode()
        crc = zlib.crc32(data)
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, len(data), len(data), len(encoded), 0)
        out += encoded + data
        extra = struct.pack("<HHQQQ", 0x0001, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(encoded), len(extra), 0, 0, 0, 0, 0xFFFFFFFF)
        central += encoded + extra
    cd_offset = len(out)
    out += central
    zip64_end = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(members), len(members), len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, zip64_end, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(dst, "wb") as f:
        f.write(out)
    with zipfile.ZipFile(dst) as z:  # Python's own reader accepts it and sees the same members
        assert [(i.filename, z.read(i.filename)) for i in z.infolist()] == members
    assert torch.load(dst, weights_only=True).keys() == torch.load(src, weights_only=True).keys()


# ----------------------------------------------------------------------------- malicious pickles

class _Exploit:
    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def evil(out_dir: str) -> None:
    import builtins
    cases = {
        "evil_os_system.pth": (os.system, (f"touch {MARKER}",)),
        "evil_builtins_eval.pth": (builtins.eval, (f"open({MARKER!r}, 'w').close()",)),
        "evil_subprocess_popen.pth": (subprocess.Popen, (["touch", MARKER],)),
    }
    for name, (func, args) in cases.items():
        save({"model": collections.OrderedDict([("w", torch.zeros(2)), ("x", _Exploit(func, args))])}, out_dir, name)
    # Prove the os.system fixture is live: an unrestricted unpickler runs the command.
    if os.path.exists(MARKER):
        os.unlink(MARKER)
    code = f"import torch; torch.load({os.path.join(out_dir, 'evil_os_system.pth')!r}, weights_only=False)"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert os.path.exists(MARKER), "the os.system fixture did not run its command under torch.load"
    os.unlink(MARKER)
    print("evil_os_system.pth: torch.load(weights_only=False) runs its command (marker created and removed)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Generate the .pth reader fixtures.")
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--cream-src", default=None,
                   help="microsoft/Cream EfficientViT/classification/model/efficientvit.py (kept outside the "
                        "repo); without it m0_cream_f16.pth is left as it is")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    if args.cream_src:
        cream_m0(args.cream_src, args.out)
    tiny(args.out)
    bench_layout(args.out)
    evil(args.out)
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"pth fixtures in {args.out}: {len(os.listdir(args.out))} files, {total / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
