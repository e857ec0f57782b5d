"""Which training recipe lets the sparse pipeline's recognition CNN generalise (docs/RESULTS_SPARSE.md, issue notes).

Trains variants of the paper's CNN on the cached training renders of ``train-sparse`` and scores each on
*validation* renders (their own seed, 1 per identity; not the held-out renders of evaluate-sparse), by
classification and by retrieval against the database's frontal projections (the gallery the pipeline searches).

    python scripts/experiments/recognition_cnn.py --views 48 --size 64 --steps 3000 --variants paper robust
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np
import torch

from sketchface.facemodel import load_face_model
from sketchface.sparse.database import DatabaseConfig, load_or_build
from sketchface.sparse.recognition import RECIPES, CNNConfig, TrainConfig, build_cnn, cnn_embed, cnn_predict, train_cnn
from sketchface.sparse.train import crops, embed_gallery, render_views, template_for

VARIANTS = {**RECIPES,
            "bn": ({"batch_norm": True}, {"lr": 0.05, "schedule": "cosine"}),
            "std": ({"standardize": True}, {"schedule": "cosine"})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--views", type=int, default=48)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--variants", nargs="+", default=["paper", "robust"], choices=sorted(VARIANTS))
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    fm = load_face_model()
    db = load_or_build(None, fm, DatabaseConfig())
    tr = render_views(fm, db, db.train_ids, args.views, 0)
    va = render_views(fm, db, db.train_ids, 1, 3000)
    template = template_for(db)
    rng = np.random.default_rng(0)
    x = np.concatenate([crops(tr, template, args.size), crops(tr, template, args.size, rng)])
    y = np.concatenate([tr["labels"], tr["labels"]])
    xv, yv = crops(va, template, args.size), va["labels"]
    out = {}
    for name in args.variants:
        net_kw, train_kw = VARIANTS[name]
        torch.manual_seed(0)
        net = build_cnn(CNNConfig(image_size=args.size, n_classes=len(db.train_ids),
                                  template=template.round(5).tolist(), **net_kw))
        cfg = replace(TrainConfig(steps=args.steps, batch=args.batch), **train_kw)
        log = train_cnn(net, x, y, cfg, progress=False)
        acc = float((cnn_predict(net, xv) == yv).mean())
        g = embed_gallery(net, db)
        f = cnn_embed(net, xv)
        sim = (f / np.linalg.norm(f, axis=1, keepdims=True)) @ (g / np.linalg.norm(g, axis=1, keepdims=True)).T
        top1 = float((db.train_ids[np.argmax(sim, 1)] == yv).mean())
        out[name] = {"val_accuracy": acc, "gallery_top1": top1, "seconds": round(log["seconds"], 1),
                     "train_acc_end": log["history"][-1]["train_acc"]}
        print(name, json.dumps(out[name]), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "results": out}, fh, indent=1)


if __name__ == "__main__":
    start = time.time()
    main()
    print(f"{time.time() - start:.0f} s")
