"""``train STAGE --config FILE [key=value ...] [--resume]``."""
from __future__ import annotations



def add_cli(sub) -> None:
    from sketchface.train.config import STAGES

    p = sub.add_parser("train", help="train a stage: cyclegan | coarse | lines | fine | locator",
                       description="Train one stage. Keys of the config (and their meaning) are listed in "
                                   "configs/lite/*.yaml and docs/TRAINING.md; any key can be overridden as key=value.")
    p.add_argument("stage", choices=list(STAGES))
    p.add_argument("--config", default=None, help="YAML file of training keys")
    p.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs still go to metrics.csv)")
    p.add_argument("overrides", nargs="*", help="key=value overrides, e.g. steps=2000 variant=sp data=data/syn")
    p.set_defaults(func=run)


def run(args) -> int:
    from sketchface.train.config import load_config
    from sketchface.train.loop import Trainer
    from sketchface.train.stages import get_stage
    cfg = load_config(args.config, args.overrides, stage=args.stage)
    if cfg.stage != args.stage:
        from sketchface.errors import UserError
        raise UserError(f"the config file says stage {cfg.stage!r} but the command says {args.stage!r}")
    trainer = Trainer(get_stage(cfg.stage), cfg, progress=not args.no_progress)
    last = trainer.fit(resume=args.resume)
    if trainer.rank == 0:
        print(f"done: {trainer.run} step {trainer.step}; " + ", ".join(f"{k} {v:.4g}" for k, v in last.items()))
    return 0
