"""A picture of how drawings are framed: the drawing's own frame, the ink box and the face locator's crop.

    python scripts/experiments/framing_picture.py --skip 300 --show 6 --out docs/img/framing.jpg

Test drawings #SKIP to #SKIP+SHOW-1 (line drawings on the first row, pencil sketches on the second; not chosen by
how well they come out), each on a white margin so that crops reaching outside it show. Grey: the drawing's own
frame (the training framing, what a perfect framing would crop); red: the ink-box crop; blue: the crop after
the face locator (the pipeline's default). Framing only: no depth network runs.
"""
from __future__ import annotations

import argparse

import numpy as np

COLOURS = {"own": (150, 150, 150), "ink": (220, 40, 40), "locator": (40, 90, 230)}


def boxes(sf, gray: np.ndarray, kind: str) -> dict[str, tuple[int, int, int, int]]:
    """The crop boxes of one drawing: its own frame, the ink box, the ink box refined by the locator."""
    rgb = np.repeat(gray[..., None], 3, -1)
    h, w = gray.shape
    out = {"own": (0, 0, w, h)}
    locator, sf.locator = sf.locator, None
    try:
        out["ink"] = sf.prepare(rgb, kind)[2].crop_box
    finally:
        sf.locator = locator
    if locator is not None:
        out["locator"] = sf.prepare(rgb, kind)[2].crop_box
    return out


def tile(gray: np.ndarray, crops: dict, margin: int, scale: int) -> np.ndarray:
    import cv2

    img = np.pad((gray * 255).astype(np.uint8), margin, constant_values=255)
    img = cv2.resize(np.repeat(img[..., None], 3, -1), None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    for name in ("own", "ink", "locator"):
        if name in crops:
            x0, y0, x1, y1 = ((np.array(crops[name]) + margin) * scale).tolist()
            cv2.rectangle(img, (x0, y0), (x1 - 1, y1 - 1), COLOURS[name], 2)
    return img


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--data", default="data/syn128")
    ap.add_argument("--skip", type=int, default=300, help="first test sample shown")
    ap.add_argument("--show", type=int, default=6, help="test samples per row")
    ap.add_argument("--margin", type=int, default=24, help="white margin around each drawing, pixels")
    ap.add_argument("--out", default="docs/img/framing.jpg")
    a = ap.parse_args(argv)

    from PIL import Image

    from sketchface import SketchFace
    from sketchface.evaluate import load_split
    from sketchface.framing import flatten_paper

    test = load_split(a.data, "test", ("sketch_lines", "sketch_pencil"), a.skip + a.show)
    sf = SketchFace.from_pretrained(a.checkpoints)
    scale = 2 if test["sketch_lines"].shape[1] <= 128 else 1
    rows = []
    for key, kind in (("sketch_lines", "lines"), ("sketch_pencil", "sketch")):
        tiles = []
        for gray in test[key][a.skip:]:
            crops = boxes(sf, gray, kind)
            tiles.append(tile(flatten_paper(gray), crops, a.margin, scale))
            print(kind, {k: tuple(int(v) for v in b) for k, b in crops.items()})
        rows.append(np.concatenate(tiles, 1))
    Image.fromarray(np.concatenate(rows, 0)).save(a.out, quality=80)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
