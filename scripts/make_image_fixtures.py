#!/usr/bin/env python3
"""Regenerate Tests/ViTImagesTests/Fixtures/: test images and PIL + timm reference results.

    pip install torch timm safetensors numpy pillow scikit-image pypng imagecodecs
    python3 scripts/make_image_fixtures.py

Images (all public domain, from scikit-image's data: chelsea, coffee, astronaut, rocket):
  * four photos as they would arrive from a camera or the web (baseline JPEG 4:2:0 and 4:4:4,
    an RGB PNG);
  * odd-mode files derived from them: grayscale PNG and JPEG, 1-bit PNG, palette PNG with tRNS,
    4-bit interlaced palette PNG with tRNS, 16-bit RGB / RGBA / gray / gray+alpha PNGs, RGBA and
    gray+alpha PNGs, Adobe CMYK and YCCK JPEGs, progressive JPEG. Some are smaller than the 256-pixel
    resize target, so the upscaling path is covered too.
PIL writes what it can; pypng writes the 16-bit colour, 16-bit gray+alpha and interlaced files,
imagecodecs (libjpeg-turbo) the YCCK JPEG.

For every image the manifest records what PIL decodes (`Image.open(p).convert("RGB")`: size and
the FNV-1a 64 hash of the RGB bytes) and `<file>.crop.png`, the 8-bit 224×224 RGB image after
timm's eval transform's Resize + CenterCrop for efficientvit_m0. The script checks that timm's
full transform (`create_transform(**resolve_data_config({}, model=m0))`) equals
`(crop / 255 - mean) / std` in float32 exactly, so the crop plus that formula *is* the reference
tensor; `chelsea.input.npy` keeps one full float32 reference tensor as well.

End to end: the four photos, preprocessed by timm's transform, run through timm's
efficientvit_m0 holding the weights of Tests/ViTEngineTests/Fixtures/pth/m0_cream_f16.pth
(Cream layout, loaded through scripts/cream_layout.py's key map); logits in `photos.logits.npy`.

Deterministic: two runs give identical files.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import warnings

import numpy as np
import png  # pypng
import torch
from PIL import Image

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
from cream_layout import cream_to_timm  # noqa: E402
from make_fixtures import build_timm, fill_model  # noqa: E402

ROOT = pathlib.Path(_HERE).parent
OUT = ROOT / "Tests" / "ViTImagesTests" / "Fixtures"
WEIGHTS = ROOT / "Tests" / "ViTEngineTests" / "Fixtures" / "pth" / "m0_cream_f16.pth"
MODEL = "efficientvit_m0"
PHOTOS = ["chelsea.jpg", "coffee.jpg", "astronaut.png", "rocket.jpg"]


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def resized(img: Image.Image, width: int) -> Image.Image:
    height = round(img.height * width / img.width)
    return img.resize((width, height), Image.LANCZOS)


def write_png16(path: pathlib.Path, array: np.ndarray, greyscale: bool, alpha: bool) -> None:
    """16-bit PNG through pypng (PIL cannot write 16-bit colour or gray+alpha)."""
    h, w = array.shape[:2]
    rows = array.reshape(h, -1).astype(np.uint16)
    writer = png.Writer(w, h, greyscale=greyscale, alpha=alpha, bitdepth=16)
    with open(path, "wb") as f:
        writer.write(f, rows.tolist())


def make_images() -> None:
    from skimage import data

    chelsea = Image.fromarray(data.chelsea())      # 451×300
    coffee = Image.fromarray(data.coffee())        # 600×400
    astronaut = Image.fromarray(data.astronaut())  # 512×512
    rocket = Image.fromarray(data.rocket())        # 427×640

    # Photos.
    chelsea.save(OUT / "chelsea.jpg", quality=90)                      # 4:2:0
    coffee.save(OUT / "coffee.jpg", quality=85)
    resized(astronaut, 300).save(OUT / "astronaut.png", optimize=True)
    rocket.save(OUT / "rocket.jpg", quality=90, subsampling=0)        # 4:4:4

    rng = np.random.default_rng(20261122)
    small_chelsea = resized(chelsea, 240)    # 240×160: upscaled by the 256 resize
    small_coffee = resized(coffee, 300)      # 300×200
    small_rocket = resized(rocket, 150)      # 150×100 (16-bit files: random low bytes do not compress)

    # Grayscale, 1-bit, CMYK and progressive files through PIL.
    small_chelsea.convert("L").save(OUT / "gray.png")
    rocket.convert("L").resize((267, 400), Image.LANCZOS).save(OUT / "gray.jpg", quality=90)
    small_chelsea.convert("1").save(OUT / "bilevel.png")
    chelsea.convert("CMYK").save(OUT / "cmyk.jpg", quality=90)        # Adobe APP14, inverted
    coffee.save(OUT / "progressive.jpg", quality=85, progressive=True)
    # YCCK (Adobe transform 2), with Adobe's inverted polarity as Photoshop writes it.
    import imagecodecs
    inverted = 255 - np.asarray(small_chelsea.convert("CMYK"))
    (OUT / "ycck.jpg").write_bytes(imagecodecs.jpeg8_encode(inverted, level=90, colorspace="CMYK", outcolorspace="YCCK"))

    # Palette with tRNS (some entries transparent) through PIL.
    palette = small_coffee.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette.info["transparency"] = bytes([0, 128] + [255] * 30 + [0] * 32)
    palette.save(OUT / "palette.png", transparency=palette.info["transparency"])

    # RGBA and gray+alpha with alpha gradients; colour under alpha 0 must survive (not blended).
    rgba = np.dstack([np.asarray(small_coffee), np.tile(np.linspace(0, 255, 300, dtype=np.uint8), (200, 1))])
    rgba[:20, :, 3] = 0
    Image.fromarray(rgba, "RGBA").save(OUT / "rgba.png")
    gray = np.asarray(small_chelsea.convert("L").resize((180, 120), Image.LANCZOS))
    la = np.dstack([gray, np.tile(np.linspace(255, 0, 120, dtype=np.uint8)[:, None], (1, 180))])
    Image.fromarray(la, "LA").save(OUT / "gray_alpha.png")

    # 16-bit files through pypng. Low bytes are random so that using them would show.
    rgb8 = np.asarray(small_rocket).astype(np.uint16)
    noise = rng.integers(0, 256, size=rgb8.shape, dtype=np.uint16)
    write_png16(OUT / "rgb16.png", rgb8 * 256 + noise, greyscale=False, alpha=False)
    alpha16 = rng.integers(0, 65536, size=rgb8.shape[:2] + (1,), dtype=np.uint16)
    write_png16(OUT / "rgba16.png", np.concatenate([rgb8 * 256 + noise, alpha16], axis=2),
                greyscale=False, alpha=True)
    gray8 = np.asarray(small_rocket.convert("L")).astype(np.uint16)
    write_png16(OUT / "gray_alpha16.png", np.dstack([gray8 * 256 + noise[..., 0], alpha16[..., 0]]),
                greyscale=True, alpha=True)
    # 16-bit gray: PIL (mode I;16) clips at 255 when converting to RGB; values 0…510 hit both sides.
    Image.fromarray((gray8 * 2).astype(np.uint16)).save(OUT / "gray16.png")

    # A 4-bit palette, Adam7-interlaced, with a tRNS chunk (pypng).
    quant = small_chelsea.quantize(colors=16, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    entries = np.asarray(quant.getpalette()[:48], dtype=np.uint8).reshape(16, 3)
    rgba_palette = [tuple(int(v) for v in entries[i]) + ((0, 96)[i] if i < 2 else 255,) for i in range(16)]
    writer = png.Writer(quant.width, quant.height, palette=rgba_palette, bitdepth=4, interlace=True)
    with open(OUT / "palette4_interlaced.png", "wb") as f:
        writer.write(f, np.asarray(quant).tolist())


def eval_transform():
    import timm
    from timm.data import create_transform, resolve_data_config

    model = timm.create_model(MODEL, pretrained=False)
    config = resolve_data_config({}, model=model)
    transform = create_transform(**config)
    steps = [type(t).__name__ for t in transform.transforms]
    assert steps == ["Resize", "CenterCrop", "MaybeToTensor", "Normalize"], steps
    return config, transform


def crop_of(transform, rgb: Image.Image) -> Image.Image:
    resize, center_crop = transform.transforms[:2]
    return center_crop(resize(rgb))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    make_images()
    config, transform = eval_transform()
    mean = np.asarray(config["mean"], dtype=np.float32)[:, None, None]
    std = np.asarray(config["std"], dtype=np.float32)[:, None, None]

    images = []
    tensors = {}
    for path in sorted(OUT.iterdir()):
        name = path.name
        with Image.open(path) as opened, warnings.catch_warnings():
            # PIL suggests converting palette images with tRNS bytes to RGBA; timm converts to RGB.
            warnings.simplefilter("ignore", UserWarning)
            mode = opened.mode
            rgb = opened.convert("RGB")
        crop = crop_of(transform, rgb)
        reference = transform(rgb).numpy()
        formula = (np.asarray(crop, dtype=np.float32).transpose(2, 0, 1) / np.float32(255) - mean) / std
        assert formula.dtype == np.float32
        diff = float(np.abs(reference - formula).max())
        assert diff == 0.0, f"{name}: timm's tensor differs from the crop formula by {diff}"
        crop.save(OUT / f"{name}.crop.png")
        tensors[name] = reference
        images.append({
            "file": name,
            "pil_mode": mode,
            "width": rgb.width,
            "height": rgb.height,
            "rgb_fnv1a64": f"{fnv1a64(rgb.tobytes()):016x}",
            "crop": f"{name}.crop.png",
            "crop_fnv1a64": f"{fnv1a64(crop.tobytes()):016x}",
            "timm_tensor_vs_crop_formula_max_abs": diff,
        })
        print(f"{name:26s} {mode:5s} {rgb.width}×{rgb.height}  {path.stat().st_size // 1024} KiB")
    np.save(OUT / "chelsea.input.npy", tensors["chelsea.jpg"].astype(np.float32))

    # End to end with the fixture weights.
    model = build_timm(MODEL)
    # The checkpoint carries Cream's training `args` (an argparse.Namespace) beside the weights.
    torch.serialization.add_safe_globals([argparse.Namespace])
    state = torch.load(str(WEIGHTS), map_location="cpu", weights_only=True)["model"]
    fill_model(model, {cream_to_timm(k): v.float() for k, v in state.items() if v.is_floating_point()})
    batch = torch.from_numpy(np.stack([tensors[p] for p in PHOTOS]))
    with torch.no_grad():
        logits = model(batch).numpy().astype(np.float32)
    np.save(OUT / "photos.logits.npy", logits)
    top5 = np.argsort(-logits, axis=1)[:, :5]

    manifest = {
        "model": MODEL,
        "transform": {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.items()},
        "images": images,
        "end_to_end": {
            "weights": "../../ViTEngineTests/Fixtures/pth/m0_cream_f16.pth",
            "photos": PHOTOS,
            "logits": "photos.logits.npy",
            "max_abs_logit": float(np.abs(logits).max()),
            "top5": top5.tolist(),
        },
        "reference_tensor": {"image": "chelsea.jpg", "file": "chelsea.input.npy"},
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(list(OUT.iterdir()))} files, {total / 1e6:.2f} MB, to {OUT.relative_to(ROOT)}")
    print("top-5 per photo:", top5.tolist())


if __name__ == "__main__":
    main()
