#!/usr/bin/env python3
"""Write Models/imagenet_labels.txt: the ImageNet-1k class names, one per line, line i = class i.

The names are the WordNet synset descriptions timm ships for ImageNet-1k (`timm.data.ImageNetInfo`),
in the class-index order of every ImageNet-1k classifier's logits (sorted synset ids). Facts, not
code. Then compile them into the library:

    python3 scripts/make_imagenet_labels.py && python3 scripts/embed_model_data.py
"""
import pathlib

from timm.data import ImageNetInfo

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Models" / "imagenet_labels.txt"


def main() -> None:
    info = ImageNetInfo("imagenet-1k")
    synsets = info.label_names()
    names = info.label_descriptions()
    if len(names) != 1000 or synsets != sorted(synsets):
        raise SystemExit("unexpected ImageNet-1k label data in timm")
    for name in names:
        if not name or "\n" in name or name != name.strip():
            raise SystemExit(f"unexpected label {name!r}")
    OUT.write_text("\n".join(names) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(names)} labels)")


if __name__ == "__main__":
    main()
