"""Training loop: config, per-model losses, validation, safetensors checkpoints and resume.

A run is reproducible: seeds fix the network's initialisation, the pool of HDR views and
the stream of synthetic degradations, and a checkpoint stores every random state, so a
run resumed from step k continues exactly as if it had not stopped.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
import math
import shlex
import sys
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from hdr_plugin.color import ColorContext
from hdr_plugin.errors import ConfigError
from hdr_plugin.inference import select_device
from hdr_plugin.models import get_spec
from hdr_plugin.models._neural import ARCHITECTURES
from hdr_plugin.models._torch import HDRNetwork, TorchModel
from hdr_plugin.models._transfer import log_encode, pq_encode
from hdr_plugin.models._weights import save_weights
from hdr_plugin.train import losses
from hdr_plugin.train.data import list_hdr_files, load_hdr, load_split, random_view
from hdr_plugin.train.degrade import EVALUATION_PIPELINES, Pair, Pipeline, synthesize
from hdr_plugin.train.metrics import score

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hdr"


@dataclass
class TrainConfig:
    """Everything a training run needs; loaded from TOML, overridable from the CLI.

    Attributes:
        model: registry name of a learned model.
        architecture: keyword arguments of the architecture (widths, depths).
        data: folder of HDR images (split by scene family).
        output: run folder (checkpoints, final weights and model card).
        steps: optimisation steps.
        batch: crops per step (``highlight-expand``: clipped pixels per step).
        crop: crop edge in pixels.
        lr: peak learning rate (Adam), cosine-decayed to 10 %.
        seed: seed of initialisation, view pool and degradations.
        views_per_image: random views cut from each training image up front.
        curves: camera curves the synthetic pairs draw from (names of
            :func:`hdr_plugin.models.crf.camera_curves`); empty = the whole family.
        clip_range: range of the fraction of clipped pixels of a synthetic pair.
        val_every: steps between validations.
        checkpoint_every: steps between checkpoints.
        device: ``auto``, ``cpu``, ``cuda`` or ``mps``.
        backbone: optional local ImageNet MobileNetV3 state dict (hybrid encoder and the
            perceptual loss); nothing is downloaded.
        perceptual_weight: weight of the perceptual loss when ``backbone`` is set.
        weights_dtype: dtype of the shipped weights file (``float16`` halves its size).
        max_minutes: stop (and still write weights and card) after this wall time.
        precision: ``float32``, or ``bfloat16`` to run the network under bf16 autocast in
            channels-last layout (about 3x faster on CPUs with native bf16 units).
    """

    model: str
    architecture: dict[str, Any] = field(default_factory=dict)
    data: str = str(DEFAULT_DATA)
    output: str = "runs/model"
    steps: int = 2000
    batch: int = 8
    crop: int = 128
    lr: float = 2e-4
    seed: int = 0
    views_per_image: int = 16
    curves: list[str] = field(default_factory=list)
    clip_range: tuple[float, float] = (0.005, 0.25)
    val_every: int = 250
    checkpoint_every: int = 250
    device: str = "auto"
    backbone: str | None = None
    perceptual_weight: float = 0.1
    weights_dtype: str = "float16"
    max_minutes: float | None = None
    precision: str = "float32"

    @classmethod
    def load(cls, path: str | Path | None, overrides: Mapping[str, str] = ()) -> TrainConfig:
        """Read a TOML file (optional) and apply ``key=value`` overrides (TOML values)."""
        values: dict[str, Any] = {}
        if path is not None:
            try:
                values = tomllib.loads(Path(path).read_text())
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"training config {path}: {exc}") from exc
        for key, raw in dict(overrides).items():
            try:
                value = tomllib.loads(f"v = {raw}")["v"]
            except tomllib.TOMLDecodeError:
                value = raw
            target = values
            *parents, leaf = key.split(".")
            for parent in parents:
                target = target.setdefault(parent, {})
            target[leaf] = value
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(f"training config: unknown key {unknown[0]!r}; keys: {sorted(names)}")
        if values.get("model") not in LOSSES:
            raise ConfigError(
                f"training config: model {values.get('model')!r}; one of {sorted(LOSSES)}"
            )
        config = cls(**values)
        if config.curves:
            from hdr_plugin.models.crf import camera_curves

            known = camera_curves()
            unknown_curves = [c for c in config.curves if c not in known]
            if unknown_curves:
                raise ConfigError(
                    f"training config: unknown camera curve {unknown_curves[0]!r}; "
                    f"curves: {', '.join(known)}"
                )
        if config.precision not in ("float32", "bfloat16"):
            raise ConfigError(
                f"training config: precision {config.precision!r}; float32 or bfloat16"
            )
        low, high = config.clip_range
        if not 0.0 < low <= high < 1.0:
            raise ConfigError(f"training config: clip_range {config.clip_range} not in (0, 1)")
        return config


def build_network(config: TrainConfig) -> torch.nn.Module:
    """The architecture of ``config.model`` built with ``config.architecture``."""
    module, name = ARCHITECTURES[config.model].split(":")
    arch = dict(config.architecture)
    if config.model == "hybrid-mnv3" and config.backbone:
        arch["backbone"] = config.backbone
    return getattr(importlib.import_module(module), name)(**arch)


def _to_tensor(images: list[np.ndarray], device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous().to(device)


def _batch(pairs: list[Pair], device: torch.device) -> dict[str, torch.Tensor]:
    return {
        "sdr": _to_tensor([p.sdr for p in pairs], device),
        "hdr": _to_tensor([p.hdr for p in pairs], device),
        "hdr709": _to_tensor([p.hdr709 for p in pairs], device),
        "sdr_continuous": _to_tensor([p.sdr_continuous for p in pairs], device),
        "linear_clipped": _to_tensor([p.linear_clipped for p in pairs], device),
        "inverse_curve": torch.from_numpy(np.stack([p.inverse_curve for p in pairs])).to(device),
    }


LossFunction = Callable[[HDRNetwork, dict[str, torch.Tensor]], dict[str, torch.Tensor]]


def _loss_unet(net, b):
    pred, target = net.predict_pq(b["sdr"]), pq_encode(b["hdr"])
    return {"ssim": losses.ssim_loss(pred, target), "l1": losses.l1(pred, target)}


def _loss_hybrid(net, b):
    pred = net.predict_log(b["sdr"])
    return {"l1_log": losses.l1(pred, log_encode(b["hdr"]))}


def _loss_singlehdr(net, b):
    stages = net.stages(b["sdr"])
    return {
        "dequantization": (stages["dequantized"] - b["sdr_continuous"]).pow(2).mean(),
        "crf": 0.1 * (stages["curve"] - b["inverse_curve"]).pow(2).mean(),
        "linearization": (stages["linear"] - b["linear_clipped"]).pow(2).mean(),
        "log_l2": losses.log_l2(stages["hdr"], b["hdr709"]),
        "tv": 0.01 * losses.total_variation(torch.log1p(stages["residual"])),
    }


def _loss_layered(net, b):
    stages = net.stages(b["sdr"])
    target = pq_encode(b["hdr"])
    valid = (stages["mask"] < 1.0).all(dim=1, keepdim=True).to(target.dtype)
    return {
        "hole_valid_l1": losses.hole_valid_l1(stages["pq"], target, valid),
        "ssim": losses.ssim_loss(stages["pq"], target),
        "base_l1": 0.5
        * losses.l1(stages["base_pq"], torch.nn.functional.avg_pool2d(target, 9, 1, 4)),
    }


def _loss_highlight(net, b):
    stage = int(b["stage"]) if "stage" in b else 0
    gains = net(b["features"], b.get("previous"), b.get("context"), stage)
    prediction = b["linear"] * torch.exp(gains)
    return {"pu21_mse": losses.weighted_pu21_mse(prediction, b["target"], b["weight"])}


def _loss_highlight_unet(net, b):
    from hdr_plugin.train.highlight_unet import loss

    return loss(net, b)


def _loss_camera_curve(net, b):
    from hdr_plugin.train.camera_curve import loss

    return loss(net, b)


LOSSES: dict[str, LossFunction] = {
    "camera-curve": _loss_camera_curve,
    "highlight-expand": _loss_highlight,
    "highlight-unet": _loss_highlight_unet,
    "unet-native": _loss_unet,
    "hybrid-mnv3": _loss_hybrid,
    "singlehdr": _loss_singlehdr,
    "layered": _loss_layered,
}


def _lr(config: TrainConfig, step: int) -> float:
    warmup = max(1, config.steps // 50)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, config.steps - warmup)
    return config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


class Trainer:
    """Trains one model as configured.

    Args:
        config: the run's configuration.
        color: OCIO context (defaults to the resolved one).
        command: the command line recorded in the model card.
    """

    def __init__(
        self, config: TrainConfig, color: ColorContext | None = None, command: str = ""
    ) -> None:
        self.config = config
        self.color = color or ColorContext.resolve()
        self.command = command or " ".join(shlex.quote(a) for a in sys.argv)
        self.device = select_device(None if config.device == "auto" else config.device)
        self.output = Path(config.output)
        torch.manual_seed(config.seed)
        self.net = build_network(config).to(self.device).train()
        if config.precision == "bfloat16":
            self.net = self.net.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(
            [p for p in self.net.parameters() if p.requires_grad], lr=config.lr
        )
        self.loss = LOSSES[config.model]
        self.perceptual = (
            losses.PerceptualLoss(config.backbone).to(self.device) if config.backbone else None
        )
        self.step = 0
        self.rng = np.random.default_rng(config.seed)
        self.history: list[dict[str, Any]] = []
        split = load_split(config.data)
        self.split = split
        self._train_files = list_hdr_files(config.data, split["train"])
        self._validation_files = list_hdr_files(config.data, split["validation"])
        self._pool: list[np.ndarray] | None = None

    # -- data -------------------------------------------------------------------------

    def _view_pool(self) -> list[np.ndarray]:
        if self._pool is None:
            rng = np.random.default_rng(self.config.seed + 1)
            pool = []
            for path in self._train_files:
                image = load_hdr(path, self.color)
                size = min(self.config.crop, *image.shape[:2])
                if size < self.config.crop:
                    continue
                pool.extend(
                    random_view(image, size, rng) for _ in range(self.config.views_per_image)
                )
            if not pool:
                raise ConfigError(
                    f"no training views of {self.config.crop}px in {self.config.data}"
                )
            self._pool = pool
        return self._pool

    def sample_batch(self) -> list[Pair]:
        """The next batch of synthetic pairs (drawn from the run's data RNG)."""
        pool = self._view_pool()
        pairs = []
        for _ in range(self.config.batch):
            view = pool[int(self.rng.integers(len(pool)))]
            if self.rng.random() < 0.5:
                view = view[:, ::-1]
            pairs.append(
                synthesize(
                    np.ascontiguousarray(view), self.color, self.rng, self.pipeline(self.rng)
                )
            )
        return pairs

    def pipeline(self, rng: np.random.Generator) -> Pipeline:
        """The camera pipeline of the next synthetic pair: a curve of ``config.curves``."""
        curves = self.config.curves
        curve = str(curves[int(rng.integers(len(curves)))]) if curves else None
        return Pipeline(curve=curve, clip_range=tuple(self.config.clip_range))

    def next_batch(self) -> dict[str, torch.Tensor]:
        """The tensors the model's loss function takes for one step."""
        return _batch(self.sample_batch(), self.device)

    # -- optimisation -------------------------------------------------------------------

    def train_step(self) -> dict[str, float]:
        """One optimisation step; returns the loss terms."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate()
        batch = self.next_batch()
        with self._autocast():
            terms = self.loss(self.net, batch)
        if self.perceptual is not None:
            prediction = pq_encode(self.net(batch["sdr"]))
            terms["perceptual"] = self.config.perceptual_weight * self.perceptual(
                prediction, pq_encode(batch["hdr"])
            )
        total = sum(terms.values())
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
        self.optimizer.step()
        self.step += 1
        return {"loss": total.item(), **{k: v.item() for k, v in terms.items()}}

    def _autocast(self):
        bf16 = self.config.precision == "bfloat16"
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16)

    def learning_rate(self) -> float:
        """This step's learning rate: linear warm-up, then cosine decay to a tenth."""
        return _lr(self.config, self.step)

    def inference_model(self) -> Any:
        """The model as it renders, on a copy of the network (float32)."""
        # A copy: the wrapper changes memory format, which must not touch the trained net.
        net = copy.deepcopy(self.net).eval()
        return TorchModel(
            get_spec(self.config.model),
            self.color,
            net,
            weights_hash=None,
            device=str(self.device),
            precision="float32",
        )

    def validate(self, limit: int | None = None) -> dict[str, float]:
        """Mean metrics on the validation split (sRGB 2 % pipeline, one view per image)."""
        model = self.inference_model()
        pipeline = EVALUATION_PIPELINES["srgb-2"]
        rng = np.random.default_rng(12345)
        scores = []
        for path in self._validation_files[:limit]:
            image = load_hdr(path, self.color)
            size = min(256, *image.shape[:2]) // 32 * 32
            view = random_view(image, size, rng)
            pair = synthesize(view, self.color, rng, pipeline)
            plate = self.color.convert(
                pair.sdr, pipeline.plate_colorspace, model.spec.input_encoding
            )
            scores.append(score(model(np.clip(plate, 0, 1)), pair.hdr, pair.sdr))
        return {k: float(np.nanmean([s[k] for s in scores])) for k in scores[0]} if scores else {}

    # -- checkpoints --------------------------------------------------------------------

    def save_checkpoint(self) -> Path:
        """Write model, optimiser and RNG states (safetensors + JSON) atomically."""
        self.output.mkdir(parents=True, exist_ok=True)
        tensors = {
            f"model.{k}": v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()
        }
        state = self.optimizer.state_dict()
        for index, param_state in state["state"].items():
            for key, value in param_state.items():
                tensors[f"optim.{index}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
        tensors["rng.torch"] = torch.get_rng_state()
        meta = {
            "step": self.step,
            "numpy_rng": self.rng.bit_generator.state,
            "param_groups": state["param_groups"],
            "history": self.history,
            "config": dataclasses.asdict(self.config),
        }
        tmp = self.output / "checkpoint.tmp.safetensors"
        save_file(tensors, str(tmp))
        (self.output / "checkpoint.tmp.json").write_text(json.dumps(meta, indent=1))
        tmp.replace(self.output / "checkpoint.safetensors")
        (self.output / "checkpoint.tmp.json").replace(self.output / "checkpoint.json")
        return self.output / "checkpoint.safetensors"

    def resume(self) -> bool:
        """Load the run folder's checkpoint, if any; returns whether one was loaded."""
        path = self.output / "checkpoint.safetensors"
        if not path.is_file():
            return False
        tensors = load_file(str(path))
        meta = json.loads((self.output / "checkpoint.json").read_text())
        self.net.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        optim_state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, index, name = key.split(".", 2)
                optim_state.setdefault(int(index), {})[name] = value.to(self.device)
        for param_state in optim_state.values():
            if "step" in param_state:
                param_state["step"] = param_state["step"].cpu()
        self.optimizer.load_state_dict({"state": optim_state, "param_groups": meta["param_groups"]})
        torch.set_rng_state(tensors["rng.torch"])
        self.rng.bit_generator.state = meta["numpy_rng"]
        self.step = meta["step"]
        self.history = meta["history"]
        return True

    # -- the run ------------------------------------------------------------------------

    def prepare(self, *, progress: bool) -> None:
        """Work done once per run before the first step (timed with the run)."""

    def run(self, *, progress: bool = True) -> Path:
        """Train to ``config.steps`` (from a checkpoint if resumed); write weights + card."""
        start = time.perf_counter()
        self.prepare(progress=progress)
        bar = tqdm(total=self.config.steps, initial=self.step, disable=not progress, unit="step")
        with bar:
            limit = self.config.max_minutes
            while self.step < self.config.steps:
                if limit is not None and time.perf_counter() - start > 60 * limit:
                    bar.write(f"stopping at step {self.step}: max_minutes={limit} reached")
                    record = {"step": self.step, "validation": self.validate()}
                    self.history.append(record)
                    break
                terms = self.train_step()
                bar.update()
                bar.set_postfix(loss=f"{terms['loss']:.4f}")
                record: dict[str, Any] = {"step": self.step, **terms}
                if self.step % self.config.val_every == 0 or self.step == self.config.steps:
                    record["validation"] = self.validate()
                    bar.write(f"step {self.step}: {record['validation']}")
                self.history.append(record)
                if self.step % self.config.checkpoint_every == 0:
                    self.save_checkpoint()
        self.save_checkpoint()
        return self.export(time.perf_counter() - start)

    def export(self, seconds: float) -> Path:
        """Write ``<model>.safetensors`` and its model card into the run folder."""
        spec = get_spec(self.config.model)
        net = build_network(dataclasses.replace(self.config, backbone=None))
        net.load_state_dict(self.net.state_dict())
        net = net.to(getattr(torch, self.config.weights_dtype))
        validation = [r["validation"] for r in self.history if "validation" in r]
        low, high = self.config.clip_range
        curves = ", ".join(self.config.curves) or "drawn from the whole family"
        card = {
            "model": spec.name,
            "architecture": self.config.architecture,
            "input": "display-encoded Rec.709 (sRGB), code values in [0, 1]",
            "output": "scene-linear Rec.2020, SDR reference white 1.0 (203 cd/m2)",
            "training": {
                "data": f"{len(self._train_files)} HDR images, split by scene family "
                f"(hdr_plugin/train/split.json): validation families "
                f"{self.split['validation_families']}",
                "pairs": "synthetic camera pipeline (hdr_plugin/train/degrade.py): random "
                f"exposure clipping {100 * low:g}-{100 * high:g} % of pixels, camera curve "
                f"{curves}, 8/10-bit, noise, JPEG",
                "command": self.command,
                "config": dataclasses.asdict(self.config),
                "steps": self.step,
                "seconds_this_session": round(seconds, 1),
                "device": str(self.device),
            },
            "validation_during_training": validation[-1] if validation else {},
            "weights_dtype": self.config.weights_dtype,
            "licence": spec.licence,
            "paper": spec.paper,
        }
        path = self.output / spec.weights
        save_weights(net, path, card)
        return path


def make_trainer(
    config: TrainConfig, color: ColorContext | None = None, command: str = ""
) -> Trainer:
    """The trainer for ``config.model``: per-pixel for ``highlight-expand``, else per crop."""
    if config.model == "highlight-expand":
        from hdr_plugin.train.highlight import HighlightTrainer

        return HighlightTrainer(config, color, command)
    if config.model == "camera-curve":
        from hdr_plugin.train.camera_curve import CameraCurveTrainer

        return CameraCurveTrainer(config, color, command)
    if config.model == "highlight-unet":
        from hdr_plugin.train.highlight_unet import HighlightUNetTrainer

        return HighlightUNetTrainer(config, color, command)
    return Trainer(config, color, command)
