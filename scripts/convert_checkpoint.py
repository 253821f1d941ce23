#!/usr/bin/env python3
"""Convert an EfficientViT (MSRA) PyTorch checkpoint to safetensors.

    python3 scripts/convert_checkpoint.py IN.pth OUT.safetensors \
        [--dtype keep|f32|f16|bf16] [--model efficientvit_m0..m5]

* Accepts official microsoft/Cream checkpoints ({'model': state_dict, ...}) and
  plain state dicts in either the Cream or the timm layout.  The key layout is
  kept as-is (the Swift engine accepts both); the detected layout is recorded in
  the file metadata.
* Drops integer buffers the engine derives or does not need:
  ``*.attention_bias_idxs`` and ``*.num_batches_tracked``.
* ``--dtype`` converts floating-point tensors (default ``keep``).
* ``--model`` checks the keys/shapes against that timm model (needs timm) and
  records the name in the metadata; without it the variant is auto-detected
  when timm is installed.
* Writes atomically (temporary file in the destination directory, then
  ``os.replace``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import sys
import tempfile

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from cream_layout import cream_to_timm, detect_layout  # noqa: E402

DROPPED_SUFFIXES = ("attention_bias_idxs", "num_batches_tracked")
WRAPPER_KEYS = ("model", "state_dict")
MODEL_NAMES = tuple(f"efficientvit_m{i}" for i in range(6))


class ConversionError(Exception):
    pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _canonicalize_header(path: str) -> None:
    """Rewrite the safetensors JSON header in place with the metadata keys sorted.

    safetensors serializes ``__metadata__`` from a hash map, so its key order (and
    hence the file bytes) changes from run to run.  Re-serializing the same entries
    in a fixed order gives a header of identical length, so the tensor data and
    offsets are untouched and the output is byte-for-byte reproducible."""
    with open(path, "r+b") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        raw = f.read(n)
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=dict)
        out = {}
        if "__metadata__" in header:
            out["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        for k, v in header.items():
            if k != "__metadata__":
                out[k] = v
        new = json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(new) > n:
            return  # cannot happen for a pure reordering; leave the file as written
        new += b" " * (n - len(new))
        f.seek(8)
        f.write(new)


def _unwrap(obj):
    if not isinstance(obj, dict):
        raise ConversionError(
            f"checkpoint is not a dict (got {type(obj).__name__}); expected a dict (a state dict or "
            f"{{'model': state_dict, ...}})")
    for wk in WRAPPER_KEYS:
        inner = obj.get(wk)
        if isinstance(inner, dict) and inner:
            others = sorted(str(k) for k in obj.keys() if k != wk)
            if others:
                print(f"note: using checkpoint['{wk}']; ignoring top-level entries: {', '.join(others)}",
                      file=sys.stderr)
            return inner
    return obj


def _timm_view(sd: dict, layout: str) -> dict:
    """{timm key: shape} of the float tensors, for validation."""
    out = {}
    for k, v in sd.items():
        key = cream_to_timm(k) if layout == "cream" else k
        out[key] = tuple(v.shape)
    return out


def _reference_shapes(model_name: str) -> dict:
    import timm  # optional dependency
    m = timm.create_model(model_name, pretrained=False)
    return {k: tuple(v.shape) for k, v in m.state_dict().items() if v.is_floating_point()}


def _validate(sd: dict, layout: str, model_name: str | None) -> str | None:
    """Check against timm's model definition. Returns the model name (or None)."""
    try:
        import timm  # noqa: F401
    except ImportError:
        if model_name:
            print("note: timm not installed; cannot validate keys against --model", file=sys.stderr)
        return model_name
    if layout == "unknown":
        if model_name:
            raise ConversionError("cannot validate --model: key layout is neither Cream nor timm")
        return None
    try:
        have = _timm_view(sd, layout)
    except ValueError as e:
        raise ConversionError(f"unexpected key in {layout} checkpoint: {e}") from e
    candidates = [model_name] if model_name else list(MODEL_NAMES)
    for name in candidates:
        ref = _reference_shapes(name)
        if have == ref:
            return name
        if model_name:
            missing = sorted(set(ref) - set(have))
            extra = sorted(set(have) - set(ref))
            shape = sorted(k for k in set(ref) & set(have) if ref[k] != have[k])
            msg = [f"checkpoint does not match {name}:"]
            for label, ks in (("missing", missing), ("unexpected", extra), ("shape mismatch", shape)):
                if ks:
                    msg.append(f"  {label} ({len(ks)}): {', '.join(ks[:8])}{' ...' if len(ks) > 8 else ''}")
            raise ConversionError("\n".join(msg))
    print("note: could not identify the EfficientViT variant (no exact match with m0..m5)", file=sys.stderr)
    return None


def convert(src: str, dst: str, dtype: str = "keep", model_name: str | None = None) -> dict:
    import torch
    from safetensors.torch import save_file

    if not os.path.isfile(src):
        raise ConversionError(f"input checkpoint not found: {src}")
    target = {"keep": None, "f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[dtype]

    try:
        obj = torch.load(src, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - report any unpickling failure clearly
        raise ConversionError(f"could not load {src} with torch.load(weights_only=True): {e}") from e
    sd = _unwrap(obj)

    out = {}
    dropped = []
    for k, v in sd.items():
        if not isinstance(k, str):
            raise ConversionError(f"state-dict key {k!r} is not a string")
        if not isinstance(v, torch.Tensor):
            raise ConversionError(f"value for key {k!r} is not a tensor (got {type(v).__name__})")
        if k.endswith(DROPPED_SUFFIXES):
            if v.is_floating_point():
                raise ConversionError(f"expected an integer buffer for {k!r}, got {v.dtype}")
            dropped.append(k)
            continue
        if k.startswith("module."):
            raise ConversionError(f"key {k!r} has a 'module.' (DataParallel) prefix; strip it first")
        if v.is_floating_point() and target is not None:
            v = v.to(target)
        out[k] = v.detach().contiguous().clone()
    if not out:
        raise ConversionError("no tensors left to write")

    non_float = sorted(k for k, v in out.items() if not v.is_floating_point())
    if non_float:
        print(f"note: keeping non-float tensors: {', '.join(non_float)}", file=sys.stderr)

    layout = detect_layout(out.keys())
    if layout == "unknown":
        print("warning: could not detect the key layout (neither Cream nor timm)", file=sys.stderr)
    float_sd = {k: v for k, v in out.items() if v.is_floating_point()}
    model_name = _validate(float_sd, layout, model_name)

    metadata = {
        "format": "pt",
        "source": os.path.basename(src),
        "source_sha256": _sha256(src),
        "layout": layout,
        "converted_by": "scripts/convert_checkpoint.py",
    }
    if model_name:
        metadata["model"] = model_name

    dst_dir = os.path.dirname(os.path.abspath(dst))
    os.makedirs(dst_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=dst_dir)
    os.close(fd)
    try:
        save_file(out, tmp, metadata=metadata)
        _canonicalize_header(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, dst)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise

    dtypes = sorted({str(v.dtype).replace("torch.", "") for v in out.values()})
    n_params = sum(v.numel() for v in float_sd.values())
    print(f"wrote {dst}: {len(out)} tensors ({n_params} float values, {', '.join(dtypes)}), "
          f"layout={layout}, model={model_name or '?'}; dropped {len(dropped)} integer buffers")
    return metadata


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("input", help="PyTorch checkpoint (.pth)")
    p.add_argument("output", help="destination .safetensors file")
    p.add_argument("--dtype", choices=("keep", "f32", "f16", "bf16"), default="keep",
                   help="convert floating-point tensors to this dtype (default: keep)")
    p.add_argument("--model", choices=MODEL_NAMES, default=None,
                   help="validate against this timm model and record it in the metadata")
    args = p.parse_args(argv)
    try:
        convert(args.input, args.output, args.dtype, args.model)
    except ConversionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
