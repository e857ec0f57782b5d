"""Checkpoints: ``config.json`` + ``model.safetensors`` per network, rebuilt from them.

Contract (the same as huggingface_hub's ``PyTorchModelHubMixin``, written out by hand
because the mixin silently drops unknown config keys, loads non-strictly by default
and falls back to pickle):

- ``net.save_pretrained(dir, dtype=None)`` writes ``config.json`` (``{"kind": ..., fields}``)
  and ``model.safetensors``; ``dtype=torch.float16`` ships half-size floating weights.
- ``Class.from_pretrained(dir_or_repo_id)`` and ``load_network(dir_or_repo_id)`` (any
  kind, through the registry) rebuild the network and load the weights strictly, cast to
  the model's float32. Anything wrong raises ``CheckpointError`` with one sentence saying
  what and what to do.
- ``net.push_to_hub(repo_id)`` uploads the two files to the Hugging Face Hub.

No pickle is ever read.
"""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from sketchface.errors import CheckpointError  # noqa: F401  (re-exported)
from sketchface.nets.config import ConfigError, NetConfig

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT_VERSION = 1

REGISTRY: dict[str, type["HubModel"]] = {}




def register(cls: type["HubModel"]) -> type["HubModel"]:
    """Class decorator: make ``cls`` loadable by ``load_network`` under its config's kind."""
    REGISTRY[cls.config_class.kind] = cls
    return cls


class _Dropped(nn.Module):
    """Stands in for a training-only part of a network exported with ``inference_only=True``."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def forward(self, *args, **kwargs):
        raise RuntimeError(f"'{self.name}' was left out of this inference-only checkpoint; train from "
                           f"the full checkpoint of the run folder instead")


class HubModel(nn.Module):
    """Base class of every network: holds ``self.config`` and saves/loads it with the weights."""

    config_class: ClassVar[type[NetConfig]] = NetConfig
    # child modules needed for inference; the others (image decoders, style encoders, discriminators) are
    # training-only and may be left out of shipped checkpoints (``save_pretrained(inference_only=True)``)
    inference_parts: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, config: NetConfig):
        super().__init__()
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}, "
                            f"got {type(config).__name__}")
        self.config = config

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _predict(self, x: torch.Tensor, channels: int, run, name: str) -> torch.Tensor:
        """``run`` (a function of an (N, C, H, W) float tensor on the network's device) in eval mode without
        gradients, its answer clamped to [0, 1]; ``x`` is (N, C, H, W) or (C, H, W) and must have ``channels``
        channels (``name`` says whose in the error). The network's train/eval mode is restored."""
        squeeze = x.dim() == 3
        x = x[None] if squeeze else x
        if x.shape[1] != channels:
            raise ValueError(f"{name} expects {channels} input channel(s), got a tensor of shape {tuple(x.shape)}")
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                out = run(x.to(self.device, torch.float32)).clamp(0, 1)
        finally:
            self.train(was_training)
        return out[0] if squeeze else out

    # ---- saving -------------------------------------------------------------------
    def drop_training_parts(self) -> "HubModel":
        """Replace the children not listed in ``inference_parts`` by stubs (in place); returns self."""
        if self.inference_parts is not None:
            for name, _ in list(self.named_children()):
                if name not in self.inference_parts:
                    setattr(self, name, _Dropped(name))
            self.inference_only = True
        return self

    def save_pretrained(self, save_directory: str | Path, dtype: torch.dtype | None = None,
                        inference_only: bool = False) -> Path:
        """Write config.json and model.safetensors into ``save_directory`` (created).

        ``inference_only`` leaves out the training-only parts (see ``inference_parts``): smaller files that
        ``load_network`` rebuilds into a network that predicts but cannot be trained further."""
        from safetensors.torch import save_file

        path = Path(save_directory)
        path.mkdir(parents=True, exist_ok=True)
        inference_only = (inference_only or getattr(self, "inference_only", False)) and self.inference_parts is not None
        keep = tuple(f"{p}." for p in self.inference_parts) if inference_only else None
        tensors = {}
        for name, tensor in self.state_dict().items():
            if keep is not None and not name.startswith(keep):
                continue
            tensor = tensor.detach().to("cpu")
            if dtype is not None and tensor.is_floating_point():
                tensor = tensor.to(dtype)
            tensors[name] = tensor.contiguous().clone()
        meta = {"format": "pt", "kind": self.config.kind,
                "dtype": str(dtype or torch.float32).replace("torch.", "")}
        save_file(tensors, str(path / WEIGHTS_NAME), metadata=meta)
        config = {**self.config.to_dict(), "format_version": FORMAT_VERSION}
        if inference_only:
            config["inference_only"] = True
        (path / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return path

    def push_to_hub(self, repo_id: str, *, token: str | None = None, private: bool = False,
                    dtype: torch.dtype | None = None,
                    commit_message: str = "Upload sketchface network") -> str:
        """Upload config.json + model.safetensors to a Hub model repo; returns the commit URL."""
        from huggingface_hub import HfApi

        api = HfApi(token=token)
        api.create_repo(repo_id, private=private, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            self.save_pretrained(tmp, dtype=dtype)
            info = api.upload_folder(repo_id=repo_id, folder_path=tmp,
                                     commit_message=commit_message)
        return str(info)

    # ---- loading ------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path_or_repo_id: str | Path, *, device: str | torch.device = "cpu",
                        revision: str | None = None, token: str | None = None) -> "HubModel":
        """Rebuild from a folder (or a Hub repo id) written by ``save_pretrained``; strict."""
        folder = resolve_checkpoint(path_or_repo_id, revision=revision, token=token)
        config = _read_config(folder)
        kind = config.get("kind")
        if kind != cls.config_class.kind:
            raise CheckpointError(
                f"{folder / CONFIG_NAME} holds a {kind!r} network, not {cls.config_class.kind!r}; "
                f"load it with sketchface.nets.load_network or the matching class")
        return _build_and_load(cls, config, folder, device)


def resolve_checkpoint(path_or_repo_id: str | Path, *, revision: str | None = None,
                       token: str | None = None) -> Path:
    """A local folder as is; otherwise download config.json + model.safetensors from the Hub."""
    path = Path(path_or_repo_id)
    if path.exists():
        if not path.is_dir():
            raise CheckpointError(f"{path} is a file; pass the folder that holds "
                                  f"{CONFIG_NAME} and {WEIGHTS_NAME}")
        return path
    return fetch_from_hub(path_or_repo_id, (CONFIG_NAME, WEIGHTS_NAME), revision=revision, token=token)


HUB_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")


def fetch_from_hub(repo_id: str | Path, patterns, *, revision: str | None = None, token: str | None = None) -> Path:
    """The local copy (in the Hugging Face cache) of the files of the Hub repository ``repo_id`` that match
    ``patterns``, downloaded once; the one place the package reaches the Hub (a network, or a whole bundle)."""
    text = str(repo_id)
    if not HUB_REPO_ID.match(text) or ".." in text:
        raise CheckpointError(f"checkpoint folder {text} does not exist and is not a Hub repository id like "
                              "'user/sketchface-lite'; pass a folder written by save_pretrained or a repository id")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(text, revision=revision, token=token, allow_patterns=list(patterns)))
    except Exception as exc:  # offline, missing repo, missing file, auth: one sentence, no exception name
        first = str(exc).splitlines()[0].rstrip(".") if str(exc) else "no answer"
        raise CheckpointError(f"could not fetch {text} from the Hugging Face Hub ({first}); check the repository "
                              "id and the connection, or download the folder and pass its path") from None


def _read_config(folder: Path) -> dict[str, Any]:
    file = folder / CONFIG_NAME
    if not file.is_file():
        raise CheckpointError(f"no {CONFIG_NAME} in {folder}; pass a folder written by "
                              f"save_pretrained ({CONFIG_NAME} + {WEIGHTS_NAME})")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{file} is not valid JSON ({exc}); re-save the checkpoint") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{file} is not a JSON object; re-save the checkpoint")
    version = data.pop("format_version", FORMAT_VERSION)
    if not isinstance(data.get("inference_only", False), bool):
        raise CheckpointError(f"{file}: inference_only must be true or false")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{file} has format_version {version}, this sketchface reads "
                              f"{FORMAT_VERSION}; upgrade sketchface or re-save the checkpoint")
    return data


def _build_and_load(cls: type[HubModel], config: dict[str, Any], folder: Path,
                    device: str | torch.device) -> HubModel:
    config = dict(config)
    inference_only = config.pop("inference_only", False)
    try:
        cfg = cls.config_class.from_dict(config)
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"{folder / CONFIG_NAME} is not a valid {cls.config_class.kind} "
                              f"config ({exc}); fix that entry or save the checkpoint again "
                              f"with this version of sketchface") from None
    model = cls(cfg)
    if inference_only:
        model.drop_training_parts()
    state = _read_weights(folder / WEIGHTS_NAME)
    _check_state(model, state, folder)
    target = {k: v for k, v in model.state_dict().items()}
    state = {k: v.to(target[k].dtype) for k, v in state.items()}
    model.load_state_dict(state, strict=True)
    return model.to(device)


def _read_weights(file: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    if not file.is_file():
        raise CheckpointError(f"no {WEIGHTS_NAME} beside {CONFIG_NAME} in {file.parent}; "
                              f"copy the weights file there or re-save the checkpoint")
    try:
        return load_file(str(file), device="cpu")
    except Exception as exc:  # SafetensorError, OSError, ...: truncated or not safetensors
        raise CheckpointError(
            f"{file} is truncated or corrupt ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
            f"download or save it again") from None


def _check_state(model: nn.Module, state: dict[str, torch.Tensor], folder: Path) -> None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if not (missing or unexpected or shapes):
        return
    parts = []
    if shapes:
        k = shapes[0]
        parts.append(f"{len(shapes)} tensors have other shapes (e.g. {k}: weights "
                     f"{tuple(state[k].shape)}, config {tuple(expected[k].shape)})")
    if missing:
        parts.append(f"{len(missing)} tensors are missing (e.g. {missing[0]})")
    if unexpected:
        parts.append(f"{len(unexpected)} tensors are unexpected (e.g. {unexpected[0]})")
    raise CheckpointError(
        f"{folder / WEIGHTS_NAME} does not match {folder / CONFIG_NAME}: {'; '.join(parts)}; "
        f"the weights come from a network of another configuration, so keep each "
        f"model.safetensors with the config.json it was saved with")


def load_network(path_or_repo_id: str | Path, *, device: str | torch.device = "cpu",
                 revision: str | None = None, token: str | None = None) -> HubModel:
    """Rebuild whichever network a checkpoint holds, from the ``kind`` in its config.json."""
    from sketchface.nets import load_all

    load_all()  # fills REGISTRY
    folder = resolve_checkpoint(path_or_repo_id, revision=revision, token=token)
    config = _read_config(folder)
    kind = config.get("kind")
    if kind not in REGISTRY:
        raise CheckpointError(f"{folder / CONFIG_NAME} names network kind {kind!r}, which this "
                              f"sketchface does not know (known: {', '.join(sorted(REGISTRY))})")
    return _build_and_load(REGISTRY[kind], config, folder, device)
