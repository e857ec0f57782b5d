"""ONNX Runtime CPU path for ``SketchFace`` inference (``SketchFace(..., backend="onnx")``).

Each network the pipeline calls is exported once to ONNX (legacy TorchScript exporter, opset 17, a dynamic
batch axis) and run by ONNX Runtime on the CPU:

    graph           inputs                                    outputs
    depth_sketch    sketch (N, C_s, S, S)                     depth (N, 1, S, S) in [0, 1]  CoarseNet sketch path
    depth_photo     photo (N, C_p, S, S)                      depth (N, 1, S, S) in [0, 1]  DP-CoarseNet photo path
    line_extractor  depth (N, 1, S, S)                        lines (N, 1, S, S)            l'
    finenet         coarse, lines, lambda_line (N,), mask     displacement, fine            FineNet with λ input
    photo_to_sketch photo (N, 3, S, S)                        sketch (N, 1, S, S)           CycleGAN G_ps
    facefit         image (N, 3, S, S)                        raw (N, K)                    FaceFit (decoded in torch)

Exports are cached in ``$SKETCHFACE_ONNX_CACHE``, else ``$XDG_CACHE_HOME/sketchface/onnx``, else
``~/.cache/sketchface/onnx``, one folder per network named by a hash of its config and weights (and the torch
version), so new weights get new graphs and nothing is written beside the checkpoints. A graph is exported on
the first call that needs it (a few seconds per network, once per machine) and reflects the weights at that
moment: build a new pipeline after changing the weights in place.

Sessions use ``torch.get_num_threads()`` intra-op threads (re-created when that number changes) and every graph
optimisation. Anything that goes wrong (onnx or onnxruntime missing, an export or a run failing) logs one
warning and that network runs in PyTorch from then on: reconstruction never breaks because of this backend.

``backend="auto"`` (the default of ``SketchFace`` and ``SketchFace.from_pretrained``) picks this path on the CPU
whenever both packages are installed, because it measured faster (see ``AUTO_USES_ONNX``); "torch" keeps PyTorch.
Needs ``onnxruntime`` (to run) and ``onnx`` (the exporter writes through it); ``onnxscript`` is not needed.

int8 l′ (``SketchFace(..., lines_int8=True)``, what the app asks for): the line extractor runs from a static int8
copy of its graph (``quantize_int8``: QDQ, int8 weights per output channel, uint8 activations, only the
convolutions), whose activation ranges are read from the face model's mean face rendered in 16 poses
(``FacePrior.sample_depths``). The line extractor only draws l′, the lines of the fine depth the view shows and
the line recall reads; no depth and no mesh depends on it. The copy is cached beside the fp32 graph, named by a
hash of its calibration depths; where it cannot be made, or the CPU has no VNNI (``int8_suits_cpu``), the fp32
graph runs.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

log = logging.getLogger("sketchface.onnx")

BACKENDS = ("torch", "onnx", "auto")
# What backend="auto" picks on the CPU when onnxruntime and onnx are installed. Decided from the "ONNX Runtime
# vs PyTorch" table of `python -m sketchface bench` (lite preset, 128 px, batch 1, 1 thread, torch 2.13 vs
# onnxruntime 1.32, the two backends' calls alternated): ONNX Runtime was 1.4-1.6x faster for every network
# (DP-CoarseNet both paths, line extractor, FineNet, CycleGAN) and 1.47x end to end, outputs within 1e-5.
# int8 dynamic quantisation and fp16 graphs were tried and gave no speed-up on the CPU for depth errors up to
# 3e-2 (int8) and 1e-3 (fp16), so the graphs stay fp32. Static int8 (quantize_int8) halves the line extractor's
# and FineNet's time on an AVX-512 VNNI CPU; only l′ uses it, on request (docs/APP.md, "Latency").
AUTO_USES_ONNX = True
OPSET = 17
EXPORT_VERSION = 1          # bump when the exported graphs change, so old caches are not reused


class Runners(NamedTuple):
    """The callables the pipeline uses: the torch modules themselves, or their ONNX Runtime stand-ins."""
    coarse: Any              # .predict_depth(x, kind) -> depth
    line_extractor: Any      # (depth) -> lines
    finenet: Any             # (coarse, lines, lambda_line, mask) -> {"displacement", "fine"}
    cyclegan: Any            # .photo_to_sketch(photo) -> sketch, or None


def available() -> bool:
    """Whether onnxruntime and onnx are installed (found without importing them)."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


def resolve_backend(backend: str, device: Any) -> str:
    """"torch" or "onnx" for a requested backend ("torch" | "onnx" | "auto") on ``device``."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    import torch

    cpu = torch.device(device).type == "cpu"
    if backend == "torch":
        return "torch"
    if backend == "auto":
        return "onnx" if cpu and AUTO_USES_ONNX and available() else "torch"
    if not cpu:
        log.warning("the onnx backend runs on the CPU only; device %s uses PyTorch", device)
        return "torch"
    if not available():
        log.warning("onnxruntime and onnx are needed for backend='onnx' (pip install onnxruntime onnx); "
                    "using PyTorch")
        return "torch"
    return "onnx"


def cache_root() -> Path:
    env = os.environ.get("SKETCHFACE_ONNX_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sketchface" / "onnx"


def weights_digest(module) -> str:
    """Hash of a network's kind, config, weights and the exporter versions (names its cache folder)."""
    import torch

    h = hashlib.sha256()
    config = getattr(module, "config", None)
    meta = {"class": type(module).__name__, "config": config.to_dict() if hasattr(config, "to_dict") else None,
            "torch": torch.__version__, "export": EXPORT_VERSION, "opset": OPSET}
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    for name, t in sorted(module.state_dict().items()):
        t = t.detach().to("cpu").contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:24]


# ------------------------------------------------------------------------------------------ export graphs
def _graph_modules():
    """nn.Module wrappers that give each inference path plain tensor inputs and outputs (built on demand)."""
    from torch import nn

    class Depth(nn.Module):
        def __init__(self, net, kind: str):
            super().__init__()
            self.net, self.kind = net, kind

        def forward(self, x):
            net = self.net
            d = net._depth(x, self.kind) if hasattr(net, "_depth") else net(x)   # DNet: forward is the depth
            return d.clamp(0, 1)

    class Lines(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, depth):
            return self.net(depth)

    class Fine(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, coarse, lines, lambda_line, mask):
            out = self.net(coarse, lines, lambda_line, mask)
            return out["displacement"], out["fine"]

    class Sketch(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, photo):
            return self.net.photo_to_sketch(photo)

    return Depth, Lines, Fine, Sketch


def export_onnx(graph, example: Sequence, input_names: Sequence[str], output_names: Sequence[str],
                path: Path) -> Path:
    """Export ``graph`` (eval mode) to ``path`` with a dynamic batch axis; written atomically."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
    axes = {n: {0: "batch"} for n in (*input_names, *output_names)}
    graph.eval()
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")   # tracer and deprecation chatter of the legacy exporter
            torch.onnx.export(graph, tuple(example), str(tmp), dynamo=False, opset_version=OPSET,
                              input_names=list(input_names), output_names=list(output_names),
                              dynamic_axes=axes, do_constant_folding=True)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def int8_suits_cpu() -> bool:
    """Whether this CPU multiplies int8 exactly and fast: x86 with VNNI (AVX512-VNNI or AVX-VNNI), where the int8 l′
    was measured. Without VNNI, ONNX Runtime's u8s8 kernels can saturate (its quantisation docs advise 7-bit
    weights there), so the fp32 graph runs instead."""
    return _has_vnni()


def _has_vnni() -> bool:
    """x86 with AVX512-VNNI or AVX-VNNI (what ``int8_suits_cpu`` asks; ``quantize_int8`` reads it too)."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags


def quantize_int8(src: Path, dst: Path, feeds: Sequence[dict[str, np.ndarray]]) -> Path:
    """A static int8 copy of the graph ``src`` at ``dst``: QDQ format, int8 weights per output channel, uint8
    activations whose ranges (min-max) are read from running ``feeds`` (input name -> array) through the graph.
    Only the convolutions are quantised, so additions, normalisations and the outputs stay float. Without VNNI the
    weights keep 7 bits (``reduce_range``, as ONNX Runtime advises there: its u8s8 kernels would saturate), so that a
    graph quantised on such a CPU still draws like the fp32 one. Written atomically."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    if not feeds:
        raise ValueError("int8 calibration needs at least one input")

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{k: np.ascontiguousarray(v, np.float32) for k, v in f.items()} for f in feeds])

        def get_next(self):
            return next(self.it, None)

    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.stem}.{os.getpid()}.{threading.get_ident()}.tmp.onnx")
    root = logging.getLogger()                 # the quantiser's advice to pre-process goes to the root logger

    def advice(record):
        return "pre-process" not in record.getMessage() and "pre-processing" not in record.getMessage()
    root.addFilter(advice)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_static(str(src), str(tmp), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            op_types_to_quantize=["Conv"], reduce_range=not _has_vnni())
        os.replace(tmp, dst)
    finally:
        root.removeFilter(advice)
        tmp.unlink(missing_ok=True)
    return dst


def session_options(threads: int | None = None):
    import onnxruntime as ort
    import torch

    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads or torch.get_num_threads())
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return so


class OnnxModule:
    """One network path run by ONNX Runtime, called with torch tensors like the torch module it replaces.

    ``build()`` returns (graph module, example inputs) for the export; ``fallback`` is the PyTorch call with the
    same arguments. Export and session creation happen on the first call; any failure logs one warning and
    every later call goes to ``fallback``. Returns one tensor, or a tuple when the graph has several outputs."""

    def __init__(self, name: str, source, build: Callable[[], tuple[Any, tuple]], input_names: Sequence[str],
                 output_names: Sequence[str], fallback: Callable, cache: Path | None = None,
                 calibration: Callable[[], list[dict[str, np.ndarray]]] | None = None):
        """``calibration``: when given, the session runs a static int8 copy of the graph (``quantize_int8``)
        calibrated on the feeds it returns (made on the first call); the fp32 graph where that fails."""
        self.name, self.source, self.build = name, source, build
        self.calibration = calibration
        self.input_names, self.output_names = tuple(input_names), tuple(output_names)
        self.fallback = fallback
        self.cache = cache
        self.path: Path | None = None
        self.failed = False
        self._session = None
        self._feeds: tuple[str, ...] = ()
        self._threads = 0
        self._lock = threading.Lock()

    # ---------------------------------------------------------------------------------------------- setup
    def _file(self) -> Path:
        root = self.cache or cache_root()
        path = root / weights_digest(self.source) / f"{self.name}.onnx"
        if not path.is_file():
            graph, example = self.build()
            export_onnx(graph, example, self.input_names, self.output_names, path)
        if self.calibration is None:
            return path
        if not int8_suits_cpu():
            log.info("this CPU has no VNNI: %s runs its fp32 graph", self.name)
            return path
        try:
            feeds = self.calibration()
            h = hashlib.sha256()
            for feed in feeds:
                for key in sorted(feed):
                    h.update(key.encode() + np.ascontiguousarray(feed[key], np.float32).tobytes())
            qpath = path.with_name(f"{self.name}_int8_{h.hexdigest()[:16]}.onnx")
            if not qpath.is_file():
                quantize_int8(path, qpath, feeds)
            return qpath
        except Exception as exc:                           # the fp32 graph still serves
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            log.warning("no int8 copy of %s (%s: %s); running its fp32 graph", self.name, type(exc).__name__, first)
            return path

    def _open(self, threads: int):
        import onnxruntime as ort

        if self.path is None:
            self.path = self._file()
        try:
            s = ort.InferenceSession(str(self.path), session_options(threads), providers=["CPUExecutionProvider"])
        except Exception:                   # a damaged cache file: export again, once
            self.path.unlink(missing_ok=True)
            self.path = self._file()
            s = ort.InferenceSession(str(self.path), session_options(threads), providers=["CPUExecutionProvider"])
        self._feeds = tuple(i.name for i in s.get_inputs())   # unused inputs (λ of a plain FineNet) are dropped
        self._session, self._threads = s, threads

    def _fail(self, what: str, exc: BaseException) -> None:
        self.failed = True
        self._session = None
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        log.warning("ONNX Runtime %s failed for %s (%s: %s); running it in PyTorch", what, self.name,
                    type(exc).__name__, first)

    def _current(self):
        """The session for the current torch thread count (exported/opened on demand), or None after a failure."""
        import torch

        threads = torch.get_num_threads()
        session = self._session
        if self.failed or (session is not None and self._threads == threads):
            return session
        with self._lock:
            if not self.failed and (self._session is None or self._threads != threads):
                try:
                    self._open(threads)
                except Exception as exc:
                    self._fail("export" if self.path is None else "session", exc)
            return self._session

    def ready(self) -> bool:
        """Export/open the session now (normally done by the first call); False when it fell back to torch."""
        return self._current() is not None

    # ---------------------------------------------------------------------------------------------- calls
    def __call__(self, *args):
        session = self._current()
        if session is None:
            return self.fallback(*args)
        import torch

        feeds = {n: np.ascontiguousarray(a.detach().to("cpu", torch.float32).numpy())
                 for n, a in zip(self.input_names, args) if n in self._feeds}
        try:
            outs = session.run(None, feeds)
        except Exception as exc:
            self._fail("run", exc)
            return self.fallback(*args)
        outs = tuple(torch.from_numpy(o) for o in outs)
        return outs[0] if len(outs) == 1 else outs


# ---------------------------------------------------------------------------------------- stand-ins
class _StandIn:
    """Attributes other than the replaced calls (``config``, ``parameters`` ...) come from the torch module."""

    net: Any

    def __getattr__(self, name):
        if name == "net":
            raise AttributeError(name)
        return getattr(self.net, name)


class OnnxCoarse(_StandIn):
    """``predict_depth(x, kind)`` of a CoarseNet (or D-Net) through ONNX Runtime; other attributes: the module."""

    def __init__(self, net, cache: Path | None = None):
        Depth, *_ = _graph_modules()
        self.net = net
        kinds = getattr(net, "KINDS", ("sketch",))
        self.paths: dict[str, OnnxModule] = {}
        self.channels: dict[str, int] = {}
        for kind in kinds:
            ch = int(net.config.photo_channels if kind == "photo" else net.config.in_channels)
            s = int(net.config.image_size)
            self.channels[kind] = ch
            self.paths[kind] = OnnxModule(
                f"depth_{kind}", net, lambda kind=kind, ch=ch, s=s: (Depth(net, kind), (_example(2, ch, s),)),
                ("image",), ("depth",), lambda x, kind=kind: net.predict_depth(x, kind), cache)

    def predict_depth(self, x, kind: str = "sketch"):
        squeeze = x.dim() == 3
        batch = x[None] if squeeze else x
        if kind not in self.paths or batch.dim() != 4 or batch.shape[1] != self.channels[kind]:
            return self.net.predict_depth(x, kind)          # the module's own check and error message
        d = self.paths[kind](batch)
        return d[0] if squeeze else d



class OnnxFineNet(_StandIn):
    """FineNet ``(coarse, lines, lambda_line, mask) -> {"displacement", "fine"}`` through ONNX Runtime."""

    def __init__(self, net, cache: Path | None = None):
        _, _, Fine, _ = _graph_modules()
        self.net = net
        s = int(net.config.image_size)

        def build():
            return Fine(net), (_example(2, 1, s), _example(2, 1, s), _example_lambda(2), _example(2, 1, s))

        def torch_call(coarse, lines, lam, mask):
            out = net(coarse, lines, lam, mask)
            return out["displacement"], out["fine"]
        self.graph = OnnxModule("finenet", net, build, ("coarse", "lines", "lambda_line", "mask"),
                                ("displacement", "fine"), torch_call, cache)

    def __call__(self, coarse, lines, lambda_line=None, mask=None):
        import torch

        if lambda_line is None:
            lambda_line = self.net.config.default_lambda_line
        n = coarse.shape[0]
        lam = torch.as_tensor(lambda_line, dtype=torch.float32).reshape(-1).to(coarse.device)
        lam = lam.expand(n) if lam.numel() == 1 else lam
        if mask is None:
            mask = torch.ones_like(coarse)
        disp, fine = self.graph(coarse, lines, lam, mask.to(coarse.dtype))
        return {"displacement": disp, "fine": fine}



class OnnxLineExtractor(_StandIn):
    """Line extractor ``(depth) -> lines`` through ONNX Runtime; ``calibration`` (a callable returning depth maps,
    (S, S) each): run from an int8 copy calibrated on them (module docstring, "int8 l′")."""

    def __init__(self, net, cache: Path | None = None, calibration: Callable[[], list[np.ndarray]] | None = None):
        _, Lines, _, _ = _graph_modules()
        self.net = net
        s = int(net.config.image_size)
        feeds = None
        if calibration is not None:
            def feeds():
                return [{"depth": np.asarray(d, np.float32).reshape(1, 1, s, s)} for d in calibration()]
        self.graph = OnnxModule("line_extractor", net,
                                lambda: (Lines(net), (_example(2, net.config.in_channels, s),)),
                                ("depth",), ("lines",), net, cache, calibration=feeds)

    def __call__(self, depth):
        return self.graph(depth)



class OnnxCycleGAN(_StandIn):
    """CycleGAN ``photo_to_sketch(photo)`` (G_ps) through ONNX Runtime."""

    def __init__(self, net, cache: Path | None = None):
        *_, Sketch = _graph_modules()
        self.net = net
        s = int(net.config.image_size)
        self.graph = OnnxModule("photo_to_sketch", net,
                                lambda: (Sketch(net), (_example(2, net.config.photo_channels, s),)),
                                ("photo",), ("sketch",), net.photo_to_sketch, cache)

    def photo_to_sketch(self, photo):
        return self.graph(photo)



class OnnxFaceFit(_StandIn):
    """FaceFit ``fit(image, mirror)`` through ONNX Runtime: the raw forward runs as a graph (the image and its
    mirror image in one batch), the small decoding in torch."""

    def __init__(self, net, cache: Path | None = None):
        self.net = net
        s = int(net.config.image_size)
        self.graph = OnnxModule("facefit", net, lambda: (net, (_example(2, 3, s),)), ("image",), ("raw",), net, cache)

    def fit(self, image, mirror: bool = True):
        import torch

        if not mirror:
            return self.net.decode(self.graph(image))
        raw = self.graph(torch.cat([image, image.flip(-1)]))
        n = len(image)
        return self.net.combine_mirrored(raw[:n], raw[n:])


def onnx_runners(coarse, line_extractor, finenet, cyclegan=None, cache: Path | None = None,
                 lines_calibration: Callable[[], list[np.ndarray]] | None = None) -> Runners:
    """ONNX Runtime stand-ins for the pipeline's four networks (exported lazily, falling back to torch);
    ``lines_calibration``: the line extractor (l′) runs int8, calibrated on those depth maps."""
    return Runners(OnnxCoarse(coarse, cache), OnnxLineExtractor(line_extractor, cache, lines_calibration),
                   OnnxFineNet(finenet, cache), OnnxCycleGAN(cyclegan, cache) if cyclegan is not None else None)


def _example(n: int, c: int, s: int):
    import torch

    return torch.rand(n, c, s, s, generator=torch.Generator().manual_seed(0))


def _example_lambda(n: int):
    import torch

    return torch.linspace(0.2, 0.9, n)
