"""``reconstruct IMAGE --out DIR``: one image -> depth (16-bit PNG, .npy), GLB, OBJ, PLY and an overview picture."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reconstruct", help="turn a sketch, line drawing or photo into a 3-D face (depth + meshes)",
                       description=__doc__)
    p.add_argument("image", nargs="+", help="image file(s): PNG, JPEG, ...")
    p.add_argument("--out", required=True, help="output folder (one sub-folder per image when several)")
    p.add_argument("--kind", default="auto", choices=["auto", "sketch", "lines", "photo"],
                   help="what the image is (auto guesses from colour and tones)")
    p.add_argument("--lambda-line", type=float, default=0.85,
                   help="λ_line in [0, 1]: weight of the line loss vs the displacement loss (λ_dis = 1 - λ_line)")
    p.add_argument("--checkpoints", default=None,
                   help="checkpoint folder or Hub repo id (default: the repository's checkpoints/)")
    p.add_argument("--coarse", default=None,
                   help="coarse depth: face_model (FaceFit's fitted face model), dp_face_model (DP-CoarseNet's "
                        "and the face model's joined by PriorFusion), dp_coarse, sp_coarse, "
                        "sp_coarse_minus, dnet (default: the bundle's pipeline.json)")
    p.add_argument("--mesh", default="auto", choices=["auto", "head", "heightfield"],
                   help="head: the fitted face model's closed head with the depth's detail (needs FaceFit and the "
                        "face model); heightfield: a vertex per face pixel of the depth map; auto: head if possible")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--read-once", action="store_true",
                   help="the CoarseNet reads the drawing once, as the paper does (default: with its mirror image too, "
                        "the two answers averaged)")
    p.add_argument("--crop-box", type=int, nargs=4, default=None, metavar=("X0", "Y0", "X1", "Y1"),
                   help="frame the face by this square (input pixels) instead of finding it")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sketchface.pipeline import SketchFace

    sf = SketchFace.from_pretrained(args.checkpoints, coarse=args.coarse, device=args.device,
                                    mirror=not args.read_once)
    many = len(args.image) > 1
    for image in args.image:
        out = Path(args.out) / Path(image).stem if many else Path(args.out)
        r = sf(image, lambda_line=args.lambda_line, kind=args.kind, crop_box=args.crop_box)
        if args.mesh == "head" and not r.has_head:
            from sketchface.errors import UserError
            raise UserError("--mesh head needs the bundle's FaceFit and the face model "
                            "(`python -m sketchface fetch-face-model`); use --mesh heightfield")
        paths = r.save(out, topology=args.mesh)
        print(f"{image}: {r.kind}, crop_box {r.crop_box} ({r.framing_method}), coarse {r.coarse_source}, "
              f"{'head' if args.mesh == 'head' or (args.mesh == 'auto' and r.has_head) else 'heightfield'} mesh -> "
              + ", ".join(str(p) for k, p in paths.items() if k in ("glb", "obj", "ply", "depth_png")))
        for note in r.notes():
            print(f"  note: {note}")
    return 0
