"""The four training stages of the paper's data flow.

cyclegan (photo -> sketch, unpaired) -> coarse (sketch[/photo] -> depth; sp-, sp, dp, dnet)
-> lines (depth -> XDoG lines of its sketch) -> fine (coarse depth + lines l -> displacement; CoarseNet and the
line extractor fixed).

A stage builds its models and optimizers, picks its data, computes its losses on a batch (``Losses``: the loss
each optimizer descends, and what to log), draws a sample grid and exports the trained networks (config.json +
model.safetensors). The Trainer (``sketchface.train.loop``) owns the step: autocast, backward, gradient clipping,
accumulation, the optimizer and GradScaler steps.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from sketchface import losses as L
from sketchface.errors import UserError
from sketchface.data.make_data import SKETCH_STYLES as SKETCH_KEYS
from sketchface.nets import build, load_network, preset
from sketchface.pipeline import MASK_THRESHOLD
from sketchface.train.config import COARSE_KINDS, TrainConfig
from sketchface.train.loop import diverging, tile
from sketchface.xdog import some_as_lines, xdog_torch



def net_config(cfg: TrainConfig, kind: str):
    c = preset(cfg.preset)[kind]
    return c.replace(**cfg.net) if cfg.net else c


def load_fixed(path: str, what: str):
    """The network a config key (``init_from``, ``coarse_ckpt``, ...) names; a bad folder is one sentence."""
    from sketchface.nets.hub import CheckpointError

    try:
        return load_network(path)
    except CheckpointError as exc:
        raise UserError(f"{what}={path}: {exc}") from None


def new_network(kind: str, cfg: TrainConfig, **fixed):
    """A network of ``kind`` to train: built from the preset (``cfg.preset``, ``cfg.net``) with the fields
    ``fixed`` set, or, with ``cfg.init_from``, built from that checkpoint's config, which must agree on ``fixed``,
    and started from its weights (float32). Parts an inference-only checkpoint left out (style encoders, image
    decoders) start fresh."""
    if not cfg.init_from:
        return build(kind, net_config(cfg, kind).replace(**fixed))
    start = load_fixed(cfg.init_from, "init_from")
    if start.config.kind != kind:
        raise UserError(f"init_from={cfg.init_from} holds a {start.config.kind} network; this stage trains {kind}")
    differ = {k: getattr(start.config, k) for k, v in fixed.items() if getattr(start.config, k) != v}
    if differ:
        raise UserError(f"init_from={cfg.init_from} has {', '.join(f'{k}={v}' for k, v in differ.items())}, "
                        f"this run asks for {', '.join(f'{k}={fixed[k]}' for k in differ)}; change one of them")
    net = build(kind, start.config)
    held = {k: v.float() for k, v in start.state_dict().items()}
    missing = net.load_state_dict(held, strict=False).missing_keys
    fresh = sorted({k.split(".")[0] for k in missing})
    if fresh and os.environ.get("RANK", "0") == "0":
        print(f"init_from={cfg.init_from}: {', '.join(fresh)} not in the checkpoint, trained from scratch")
    return net


def jitter_frame(images: dict, cfg: TrainConfig, gen: torch.Generator) -> dict:
    """The examples of a share ``cfg.coarse.jitter_share`` of the batch, each shown in its own random square around
    the training frame (zoom up to ``cfg.coarse.jitter_scale`` in or out, centre within ``cfg.coarse.jitter_shift``);
    ``images`` maps a fill ("white" for sketches, "zeros" for depth, "border" for photos) to a tensor, cropped alike."""
    import math

    from sketchface.nets.locator import crop_squares

    first = next(iter(images.values()))
    n, size = first.shape[0], first.shape[-1]
    u = torch.rand(n, 4, generator=gen)
    c = cfg.coarse
    params = torch.stack([math.log(c.jitter_scale) * (2 * u[:, 0] - 1), c.jitter_shift * (2 * u[:, 1] - 1),
                          c.jitter_shift * (2 * u[:, 2] - 1)], 1)
    params[u[:, 3] >= cfg.coarse.jitter_share] = 0.0       # the rest keep the training frame
    params = params.to(first.device)
    with torch.autocast(first.device.type, enabled=False):      # an exact float32 sampling grid under AMP
        return {fill: crop_squares(x.float(), params, size, fill).to(x.dtype) for fill, x in images.items()}


def _adam(params, cfg: TrainConfig):
    return torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


@dataclass
class Losses:
    """What a stage's ``losses`` returns: ``backward`` maps each optimizer's name to the loss its parameters
    descend (the Trainer back-propagates them in order), ``log`` the scalars to log (``total`` among them)."""
    backward: dict
    log: dict

    @classmethod
    def single(cls, terms: dict, name: str = "net") -> "Losses":
        """One optimizer ``name`` descending ``terms["total"]``; every term logged."""
        return cls({name: terms["total"]}, dict(terms))


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[-1] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="area")


def _module(m):
    return getattr(m, "module", m)


def training_dataset(cfg: TrainConfig, split: str, keys: tuple[str, ...]):
    from sketchface.data.synthetic import SyntheticOnTheFly, SyntheticShards
    if cfg.data:
        ds = SyntheticShards(cfg.data, split, keys=None)
        available = set(ds.keys) | {p.stem for p in (ds.root / ds.shards[0]).glob("*.npy")} if ds.shards else set()
        ds.keys = tuple(k for k in keys if k in available)
        return ds
    size = preset(cfg.preset)["line_extractor"].image_size
    return SyntheticOnTheFly(cfg.on_the_fly_n if split == "train" else max(cfg.on_the_fly_n // 4, 8), split,
                             size=size, seed=cfg.seed, keys=keys)


def pick_sketch(batch: dict, cfg: TrainConfig, gen: torch.Generator, size: int) -> torch.Tensor:
    """Per example, one of the configured sketch styles present in the batch."""
    styles = [SKETCH_KEYS[s] for s in cfg.sketch_styles if SKETCH_KEYS.get(s) in batch]
    if not styles:
        raise UserError(f"none of the sketch styles {cfg.sketch_styles} is in the data")
    stack = torch.stack([_resize(batch[k], size) for k in styles])      # (S, N, 1, H, W)
    choice = torch.randint(len(styles), (stack.shape[1],), generator=gen).to(stack.device)
    return stack[choice, torch.arange(stack.shape[1], device=stack.device)]


class Stage:
    name = ""
    keys: tuple[str, ...] = ()
    export_dtype = None     # float16 for the stages whose final/ is itself a shipped checkpoint folder

    def trainable(self, cfg: TrainConfig) -> set[str]:
        return {"net"}

    def dataset(self, cfg: TrainConfig, split: str):
        return training_dataset(cfg, split, self.keys)

    def build_optimizers(self, models, cfg):
        return {"net": _adam(models["net"].parameters(), cfg)}

    def export(self, models, out, cfg) -> None:
        _module(models["net"]).save_pretrained(out, dtype=self.export_dtype)


def dress_sketches(s: torch.Tensor, batch: dict, share: float, gen: torch.Generator) -> torch.Tensor:
    """A ``share`` of the sketches (N, 1, S, S) dressed with hair, glasses and collars (``sketchface.synth.dress``)
    from the batch's landmarks, drawn reproducibly from ``gen``."""
    import numpy as np

    from sketchface.synth.dress import dress_batch

    if "landmarks" not in batch:
        raise UserError("dressing the drawings (dress_share, dress_lines) needs the data's landmarks (make-data "
                        "writes them)")
    lm = batch["landmarks"].float() * (s.shape[-1] / batch["depth"].shape[-1])
    rng = np.random.default_rng(int(torch.randint(2 ** 31 - 1, (1,), generator=gen)))
    return dress_batch(s.float(), lm, rng, share).to(s.dtype)


def inner_head(depth: torch.Tensor, px: float) -> torch.Tensor:
    """1 where the depth maps (N, 1, S, S; 0 = background) show the head at least ``px`` pixels from its outline."""
    k = 2 * max(1, int(round(px))) + 1
    outside = (depth <= 0).to(depth.dtype)
    return 1.0 - torch.nn.functional.max_pool2d(outside, k, stride=1, padding=k // 2)


class CoarseStage(Stage):
    name = "coarse"
    keys = (*SKETCH_KEYS.values(), "photo", "depth", "mask", "landmarks")

    def build_models(self, cfg, device):
        return {"net": new_network(COARSE_KINDS[cfg.variant], cfg).to(device).train()}

    def _size(self, models) -> int:
        return _module(models["net"]).config.image_size

    def losses(self, models, batch, cfg, gen) -> Losses:
        size = self._size(models)
        net = models["net"]
        s = pick_sketch(batch, cfg, gen, size)
        if cfg.coarse.dress_share > 0:             # hair, glasses, collars over the drawing; the depth target unchanged
            s = dress_sketches(s, batch, cfg.coarse.dress_share, gen)
        d = _resize(batch["depth"], size)
        p = _resize(batch["photo"], size) if cfg.variant == "dp" else None
        if cfg.coarse.jitter_share > 0:
            j = jitter_frame({"white": s, "zeros": d, **({"border": p} if p is not None else {})}, cfg, gen)
            s, d, p = j["white"], j["zeros"], j.get("border")
        where = None                           # where the depth loss counts (None: everywhere)
        if cfg.coarse.real_depths:             # real sketches with the face model's depth, after dressing and jitter
            s, d, p, where = self._with_real(s, d, p, cfg, gen)
        d = d * cfg.depth_scale
        v = cfg.variant
        if v == "dnet":
            pred = net(s)
            t = {"3d_s": L.depth_loss(d, pred * cfg.depth_scale, where)}
            t["total"] = t["3d_s"]
        elif v == "dp":
            out = net(s, p)
            out = {**out, "depth_s": out["depth_s"] * cfg.depth_scale, "depth_p": out["depth_p"] * cfg.depth_scale}
            t = L.dp_coarse_loss(out, s, p, d, cfg.coarse.lambda_rec, cfg.coarse.lambda_cvt, cfg.coarse.lambda_3d,
                                 cfg.stage_loss, mask=where)
        else:
            out = net(s)
            t = L.sp_coarse_loss({"image": out["image"], "depth": out["depth"] * cfg.depth_scale}, s, d,
                                 cfg.coarse.lambda_rec, cfg.coarse.lambda_3d, mask=where)
        return Losses.single(t)

    def _with_real(self, s, d, p, cfg, gen):
        """The batch with each example replaced, with chance ``cfg.coarse.real_share``, by a real train sketch, its
        photo and the face model's depth (``prepare-real-depths``); also where the depth loss counts (None:
        everywhere; with ``cfg.coarse.real_inner``, a real example's target head shrunk by that many pixels). With
        ``cfg.coarse.real_lines`` a real sketch is shown, by that chance, as its XDoG lines."""
        import numpy as np

        from sketchface.data.realdepths import load_real_depths, real_examples

        kept = getattr(self, "_real", None)
        if kept is None or kept[0] != cfg.coarse.real_depths:             # loaded once per run
            real = load_real_depths(cfg.coarse.real_depths)
            # drawing weights: every pair alike, or each group alike (a pair's weight 1 / its group's size)
            _, group, count = np.unique(real["group"], return_inverse=True, return_counts=True)
            weights = {False: torch.ones(len(group), dtype=torch.float64), True: torch.from_numpy(1.0 / count[group])}
            self._real = (cfg.coarse.real_depths, real, weights)
        _, real, weights = self._real
        n = s.shape[0]
        chosen = torch.nonzero(torch.rand(n, generator=gen) < cfg.coarse.real_share).flatten()
        if len(chosen) == 0:
            return s, d, p, None
        index = torch.multinomial(weights[bool(cfg.coarse.real_balanced)], len(chosen), replacement=True,
                                  generator=gen).numpy()
        rs, rp, rd = (x.to(s.device) for x in real_examples(real, index, gen, s.shape[-1]))
        if cfg.coarse.real_lines > 0:
            rs = some_as_lines(rs, cfg.coarse.real_lines, gen)
        at = chosen.to(s.device)
        s, d = s.clone(), d.clone()
        s[at], d[at] = rs.to(s.dtype), rd.to(d.dtype)
        if p is not None:
            p = p.clone()
            p[at] = rp.to(p.dtype)
        where = None
        if cfg.coarse.real_inner > 0:
            where = torch.ones_like(d)
            where[at] = inner_head(rd.to(d.dtype), cfg.coarse.real_inner * s.shape[-1] / 128)
        return s, d, p, where

    def sample_grid(self, models, batch, cfg):
        net = _module(models["net"])
        size = net.config.image_size
        s = _resize(batch.get("sketch_pencil", batch.get("sketch_lines")), size)
        cols = [s, net.predict_depth(s, "sketch"), _resize(batch["depth"], size)]
        if cfg.variant == "dp":
            p = _resize(batch["photo"], size)
            cols[1:1] = [p, net.predict_depth(p, "photo")]
        return tile(cols)


class LinesStage(Stage):
    """Line extractor: depth -> the XDoG lines of its paired (synthesised) sketch."""
    name = "lines"
    keys = ("depth", "lines", "mask")

    def build_models(self, cfg, device):
        return {"net": new_network("line_extractor", cfg).to(device).train()}

    def losses(self, models, batch, cfg, gen) -> Losses:
        size = _module(models["net"]).config.image_size
        d, l = _resize(batch["depth"], size), _resize(batch["lines"], size)
        pred = models["net"](d)
        # lines are sparse: weight line pixels (l = 0) up a little so the network does not settle for
        # all-white; a large weight makes it paint thick strokes wherever a line is merely likely
        w = 1.0 + cfg.lines.line_weight * (1.0 - l)
        loss = (w * (pred - l).abs()).mean()
        return Losses.single({"l1w": loss, "total": loss})

    def sample_grid(self, models, batch, cfg):
        net = _module(models["net"])
        size = net.config.image_size
        d = _resize(batch["depth"], size)
        return tile([d, _resize(batch["lines"], size), net(d)])


class FineStage(Stage):
    """FineNet with CoarseNet and the line extractor fixed; λ-conditioned by default."""
    name = "fine"
    keys = (*SKETCH_KEYS.values(), "photo", "depth", "mask", "landmarks")

    def build_models(self, cfg, device):
        if not cfg.fine.coarse_ckpt or not cfg.fine.lines_ckpt:
            raise UserError("the fine stage needs coarse_ckpt=DIR and lines_ckpt=DIR (train coarse and lines first)")
        coarse = load_fixed(cfg.fine.coarse_ckpt, "coarse_ckpt").to(device).eval().requires_grad_(False)
        lines = load_fixed(cfg.fine.lines_ckpt, "lines_ckpt").to(device).eval().requires_grad_(False)
        net = new_network("finenet", cfg, lambda_conditioned=cfg.fine.lambda_conditioned)
        return {"net": net.to(device).train(), "coarse": coarse, "lines": lines}

    def _inputs(self, models, batch, cfg, gen):
        """The drawing, its coarse depth, its lines l (FineNet's input), the mask, and the lines L_line asks for:
        l itself, or with ``dress_lines`` (the drawing dressed), only the face's own lines that stay visible."""
        net = _module(models["net"])
        size = net.config.image_size
        s = pick_sketch(batch, cfg, gen, size)
        with torch.no_grad():
            target = None
            if cfg.fine.dress_lines > 0:
                target = xdog_torch(s)
                s = dress_sketches(s, batch, cfg.fine.dress_lines, gen)
            coarse = models["coarse"].predict_depth(s, "sketch")
            l = xdog_torch(s)
            # black (a line) only where the undressed drawing has one and the dressed one still shows it
            target = l if target is None else torch.maximum(l, target)
        mask = (coarse > MASK_THRESHOLD).to(coarse.dtype)
        return s, coarse, l, mask, target

    def losses(self, models, batch, cfg, gen) -> Losses:
        s, coarse, l, mask, target = self._inputs(models, batch, cfg, gen)
        n = s.shape[0]
        if cfg.fine.lambda_conditioned:
            lam = torch.rand(n, generator=gen).to(s.device)
        else:
            lam = torch.full((n,), cfg.fine.lambda_line, device=s.device)
        out = models["net"](coarse, l, lam, mask)
        if cfg.stage_loss == "line+dis":
            z = None
            if cfg.fine.line_loss == "logit":
                z = models["lines"].logits(out["fine"])
                lp = torch.sigmoid(z)
            else:
                lp = models["lines"](out["fine"])
            lc = None
            if cfg.fine.lambda_extra:
                with torch.no_grad():
                    lc = models["lines"](coarse)
            t = L.finenet_loss(target, lp, out["displacement"] * cfg.fine.dis_scale, lam, 1 - lam,
                               cfg.fine.lambda_extra, lc, line_logits=z, line_tolerance=cfg.fine.line_tolerance)
            if cfg.fine.dress_lines > 0 and cfg.fine.worn_weight > 0:
                # the worn strokes and the pixel beside them (the groove is wider than the stroke), away from the
                # face's own lines, inside the mask
                def near(ink):
                    return torch.nn.functional.max_pool2d(ink.float(), 3, 1, 1) > 0

                worn = near((l < 0.5) & (target >= 0.5)) & ~near(target < 0.5) & (mask > 0)   # where FineNet acts
                worn = worn.to(out["displacement"].dtype)
                t["worn"] = (out["displacement"].abs() * cfg.fine.dis_scale * worn).sum() / worn.sum().clamp(min=1)
                t["total"] = t["total"] + cfg.fine.worn_weight * t["worn"]
        else:
            size = coarse.shape[-1]
            d = _resize(batch["depth"], size)
            t = L.finenet_ablation_loss(d * cfg.depth_scale, out["fine"] * cfg.depth_scale,
                                        out["displacement"] * cfg.fine.dis_scale, cfg.fine.lambda_line,
                                        1 - cfg.fine.lambda_line,
                                        mask)
        return Losses.single(t)

    def sample_grid(self, models, batch, cfg):
        gen = torch.Generator().manual_seed(0)
        s, coarse, l, mask, _ = self._inputs(models, batch, cfg, gen)
        net = _module(models["net"])
        fines = [net(coarse, l, torch.full((s.shape[0],), lam, device=s.device), mask)["fine"]
                 for lam in (0.0, 0.5, 1.0)]
        # the displacements of the three λ on one diverging scale (red nearer, blue further, white none)
        disp = diverging(torch.cat([f - coarse for f in fines], 1).flatten(0, 1)[:, None]).unflatten(0, (-1, 3))
        cols = [s, l, coarse]
        for i, fine in enumerate(fines):
            cols += [disp[:, i], models["lines"](fine)]
        return tile(cols)


class CycleGANStage(Stage):
    """Unpaired photo -> sketch. With ``real_pairs`` (a prepare-real-pairs folder), as in the paper: real sketches
    against photos, part real, part rendered; else photos of one half of the training identities against pencil
    sketches of the other half."""
    name = "cyclegan"
    keys = ("photo", "sketch_pencil")

    def dataset(self, cfg, split):
        if cfg.cyclegan.real_pairs:
            from sketchface.data.realpairs import RealSketchDomains
            return RealSketchDomains(training_dataset(cfg, split, ("photo",)), cfg.cyclegan.real_pairs,
                                     cfg.cyclegan.real_photo_share, "train" if split == "train" else "val", cfg.seed)
        from sketchface.data.synthetic import UnpairedDomains
        return UnpairedDomains(training_dataset(cfg, split, self.keys))

    @staticmethod
    def _sketches(batch):
        return batch["sketch_real"] if "sketch_real" in batch else batch["sketch_pencil"]

    def build_models(self, cfg, device):
        if int(__import__("os").environ.get("WORLD_SIZE", "1")) > 1:
            raise UserError("the cyclegan stage runs on one device; launch it without torchrun")
        return {"net": new_network("cyclegan", cfg).to(device).train()}

    def build_optimizers(self, models, cfg):
        m = models["net"]
        g = list(m.G_ps.parameters()) + list(m.G_sp.parameters())
        d = list(m.D_s.parameters()) + list(m.D_p.parameters())
        return {"g": _adam(g, cfg), "d": _adam(d, cfg)}

    def losses(self, models, batch, cfg, gen) -> Losses:
        m = _module(models["net"])
        size = m.config.image_size
        p = _resize(batch["photo"], size)              # even identities
        s = _resize(self._sketches(batch), size)      # other identities (unpaired)
        out = m(p, s, identity=cfg.cyclegan.identity_weight > 0)
        # the generators' loss reads the discriminators without making them a gradient; the discriminators'
        # loss reads detached fakes: the two losses touch disjoint parameters and are stepped in one go
        m.D_s.requires_grad_(False)
        m.D_p.requires_grad_(False)
        try:
            tg = L.cyclegan_generator_loss(m, out, p, s, cfg.cyclegan.cycle_weight, cfg.cyclegan.identity_weight)
        finally:
            m.D_s.requires_grad_(True)
            m.D_p.requires_grad_(True)
        td = L.cyclegan_discriminator_loss(m, out, p, s)
        return Losses({"g": tg["total"], "d": td["total"]},
                      {"g": tg["total"], "d": td["total"], "cycle_p": tg["cycle_p"], "total": tg["total"] + td["total"]})

    def sample_grid(self, models, batch, cfg):
        m = models["net"]
        p = _resize(batch["photo"], m.config.image_size)
        fake = m.photo_to_sketch(p)
        return tile([p, fake, _resize(self._sketches(batch), m.config.image_size)])


STAGES = {"coarse": CoarseStage, "lines": LinesStage, "fine": FineStage, "cyclegan": CycleGANStage}


def get_stage(name: str) -> Stage:
    if name == "locator":
        from sketchface.train.locator import locator_stage

        return locator_stage()
    if name == "facefit":
        from sketchface.train.facefit import facefit_stage

        return facefit_stage()
    if name == "facecheck":
        from sketchface.train.facecheck import facecheck_stage

        return facecheck_stage()
    return STAGES[name]()
