"""torch Datasets over the synthetic world: shards written by ``make-data``, or generated on the fly."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sketchface.errors import UserError
from sketchface.data.make_data import ARRAY_KEYS, decode, generate_base, is_test_identity

try:  # torch is optional for reading shards as numpy
    from torch.utils.data import Dataset
except ImportError:  # pragma: no cover
    Dataset = object


def to_tensors(sample: dict, keys=None) -> dict:
    """Decoded sample dict -> float32 tensors (C, H, W) for image-like keys (see docs/CONVENTIONS.md)."""
    import torch
    out = {}
    for k, v in sample.items():
        if keys is not None and k not in keys:
            continue
        if isinstance(v, np.ndarray):
            x = torch.from_numpy(np.array(v))  # a writable copy (shards are memory-mapped)
            if k == "landmarks":
                out[k] = x.float()
            elif x.ndim == 2:
                out[k] = x.float()[None]
            elif x.ndim == 3:
                out[k] = x.float().permute(2, 0, 1)
            else:
                out[k] = x
        elif isinstance(v, (int, np.integer)):
            out[k] = int(v)
    return out


class SyntheticShards(Dataset):
    """Samples of a ``make-data`` folder (memory-mapped). ``keys`` limits what is read."""

    def __init__(self, root: str | Path, split: str = "train", keys=None, to_tensor: bool = True):
        self.root = Path(root)
        meta_path = self.root / "meta.json"
        if not meta_path.is_file():
            raise UserError(f"{self.root} is not a make-data folder (no meta.json); run "
                            f"`python -m sketchface make-data --out {self.root}` first.")
        self.meta = json.loads(meta_path.read_text())
        self.keys = tuple(keys) if keys else ARRAY_KEYS
        self.to_tensor = to_tensor
        self.shards = [name for name in self.meta["shards"] if name.startswith(split + "-")]
        self.counts = [self.meta["shards"][name] for name in self.shards]
        self.offsets = np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)
        self._arrays: dict = {}

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def identities(self) -> np.ndarray:
        """Identity number of every sample (n,)."""
        if not self.shards:
            return np.zeros(0, np.int64)
        return np.concatenate([np.asarray(self._array(s, "identity")) for s in self.shards]).astype(np.int64)

    def _array(self, shard: str, key: str):
        k = (shard, key)
        if k not in self._arrays:
            path = self.root / shard / f"{key}.npy"
            if not path.is_file():
                raise UserError(f"missing {path}; regenerate the data with make-data")
            self._arrays[k] = np.load(path, mmap_mode="r")
        return self._arrays[k]

    def __getitem__(self, i: int) -> dict:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        s = int(np.searchsorted(self.offsets, i, side="right") - 1)
        shard, j = self.shards[s], i - int(self.offsets[s])
        sample = {k: decode(k, np.asarray(self._array(shard, k)[j])) for k in self.keys}
        sample["identity"] = int(self._array(shard, "identity")[j])
        return to_tensors(sample) if self.to_tensor else sample


class SyntheticOnTheFly(Dataset):
    """Samples rendered on demand (no disk): sample i is variant ``i % variants`` of base face ``i // variants``,
    identical to what ``make-data`` writes for the same seed. Only identities of ``split`` are used."""

    def __init__(self, n: int, split: str = "train", size: int = 128, variants: int = 4, seed: int = 0,
                 test_fraction: float = 0.2, face_model=None, keys=None, to_tensor: bool = True, **world):
        from sketchface.facemodel import load_face_model
        from sketchface.synth.sample import WorldConfig
        self.face_model = load_face_model(face_model)
        self.cfg = WorldConfig(size=size, variants=variants, **world)
        self.seed, self.keys, self.to_tensor = seed, keys, to_tensor
        bases, b = [], 0
        while len(bases) * variants < n:
            if is_test_identity(b, test_fraction) == (split == "test"):
                bases.append(b)
            b += 1
        self.bases = bases
        self.n = n
        self._cache: tuple[int, list] | None = None

    def __len__(self) -> int:
        return self.n

    def identities(self) -> np.ndarray:
        return np.array([self.bases[i // self.cfg.variants] for i in range(self.n)], np.int64)

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < self.n:
            raise IndexError(i)
        b = self.bases[i // self.cfg.variants]
        if self._cache is None or self._cache[0] != b:
            self._cache = (b, generate_base(self.face_model, self.cfg, self.seed, b, 1))
        s = dict(self._cache[1][i % self.cfg.variants])
        s.pop("params", None)
        s["mask"] = s["mask"].astype(np.float32)
        for k in ("photo", "sketch_pencil", "sketch_lines", "lines", "shading"):
            s[k] = decode(k, s[k])
        if self.keys:
            s = {k: v for k, v in s.items() if k in self.keys or k == "identity"}
        return to_tensors(s) if self.to_tensor else s


class UnpairedDomains(Dataset):
    """Two unpaired domains from one dataset, split by identity parity: sample i gives ``key_a`` of the i-th
    even-identity sample and ``key_b`` of an odd-identity sample, so no identity is seen in both domains."""

    def __init__(self, base, key_a: str = "photo", key_b: str = "sketch_pencil"):
        self.base, self.key_a, self.key_b = base, key_a, key_b
        ids = base.identities()
        self.a = np.nonzero(ids % 2 == 0)[0]
        self.b = np.nonzero(ids % 2 == 1)[0]
        if len(self.a) == 0 or len(self.b) == 0:
            raise UserError("unpaired training needs at least two identities in the data")

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, i: int) -> dict:
        j = (i * 7919) % len(self.b)
        return {self.key_a: self.base[int(self.a[i])][self.key_a], self.key_b: self.base[int(self.b[j])][self.key_b]}
