"""Training loop: config, per-model losses, validation, safetensors checkpoints and resume.

A run is reproducible: seeds fix the network's initialisation, the pool of HDR views and
the synthetic degradations (step k's batch comes from an RNG seeded by the run's seed and
k, so worker processes can make batches ahead of the loop and every worker count trains
the same), and a checkpoint stores every other random state, so a run resumed from step k
continues exactly as if it had not stopped.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import itertools
import json
import math
import multiprocessing
import os
import shlex
import sys
import time
import tomllib
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from hdr_plugin.color import ColorContext
from hdr_plugin.constants import CLIP_CODE
from hdr_plugin.errors import ConfigError
from hdr_plugin.inference import select_device
from hdr_plugin.io import atomic_write
from hdr_plugin.models import architecture, get_spec, learned_models
from hdr_plugin.models.engine.encodings import pq_encode
from hdr_plugin.models.engine.gate import LinearGate
from hdr_plugin.models.engine.torch_model import TorchModel
from hdr_plugin.models.engine.weights import apply_state_dict, load_state_dict, save_weights
from hdr_plugin.train import losses
from hdr_plugin.train.data import (
    evaluation_views,
    list_hdr_files,
    load_hdr,
    load_split,
    random_view,
)
from hdr_plugin.train.degrade import EVALUATION_PIPELINES, Pair, Pipeline, synthesize
from hdr_plugin.train.metrics import score
from hdr_plugin.validation import check_values, field_types

#: Scene-linear floor before a loss PQ-encodes a prediction: PQ's slope is infinite at 0,
#: which would turn the zero gradient of unchanged black pixels into NaN.
PQ_FLOOR = 1e-5
#: Environment variable naming the folder of HDR images when a config or command does not.
DATA_ENV = "HDR_PLUGIN_DATA"
#: Second word of the seed of a step's batch RNG (the first is the run's seed).
BATCH_STREAM = 2
#: Batches each worker process makes ahead of the training loop.
PREFETCH_PER_WORKER = 2


def data_folder(value: str | os.PathLike[str] | None, *, what: str) -> str:
    """The HDR data folder: ``value``, else ``$HDR_PLUGIN_DATA``; it must exist.

    Raises:
        ConfigError: neither names a folder, or the folder is missing.
    """
    folder = os.fspath(value) if value else os.environ.get(DATA_ENV, "")
    if not folder:
        raise ConfigError(
            f"{what}: no HDR data folder; give one (a folder of .exr/.hdr images) or set "
            f"${DATA_ENV}"
        )
    if not Path(folder).is_dir():
        raise ConfigError(f"{what}: HDR data folder {folder} not found")
    return folder


@dataclass
class TrainConfig:
    """Everything a training run needs; loaded from TOML, overridable from the CLI.

    Attributes:
        model: registry name of a learned model.
        architecture: keyword arguments of the architecture (widths, depths).
        data: folder of HDR images (split by scene family); empty = ``$HDR_PLUGIN_DATA``.
        output: run folder (checkpoints, final weights and model card).
        steps: optimisation steps.
        batch: crops per step.
        crop: crop edge in pixels.
        lr: peak learning rate (Adam), cosine-decayed to 10 %.
        seed: seed of initialisation, view pool and degradations.
        views_per_image: random views cut from each training image up front.
        curves: camera curves the synthetic pairs draw from (names of
            :func:`hdr_plugin.crf.camera_curves`); empty = the whole family.
        clip_range: range of the fraction of clipped pixels of a synthetic pair.
        val_every: steps between validations.
        checkpoint_every: steps between checkpoints.
        device: ``auto``, ``cpu``, ``cuda`` or ``mps``.
        backbone: optional local ImageNet MobileNetV3 state dict (hybrid encoder and the
            perceptual loss); nothing is downloaded.
        perceptual_weight: weight of the perceptual loss when ``backbone`` is set.
        clipped_weight: weight of the clipped-region PU21 term
            (:func:`~hdr_plugin.train.losses.log_clipped_pu21_error`) beside a paper's own
            losses (hybrid-mnv3, singlehdr, layered): the gate lets only clipped channels
            change, so it is the term that scores what a network adds, in the evaluation's
            units.
        weights_dtype: dtype of the shipped weights file (``float16`` halves its size).
        max_minutes: stop (and still write weights and card) after this wall time.
        workers: processes that synthesise batches ahead of the training loop (0: the
            loop makes each itself); the batches are the same for any number. A GPU
            machine wants most of its cores here: synthesis is the CPU-bound part.
        init: weights (``.safetensors`` of this model and architecture) to start from
            instead of a random initialisation: fine-tuning a shipped model.
        precision: ``float32``, or ``bfloat16`` to run the network under bf16 autocast in
            channels-last layout (about 3x faster on CPUs with native bf16 units).
    """

    model: str
    architecture: dict[str, Any] = field(default_factory=dict)
    data: str = ""
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
    clipped_weight: float = 0.1
    weights_dtype: str = "float16"
    max_minutes: float | None = None
    workers: int = 0
    init: str | None = None
    precision: str = "float32"

    @classmethod
    def load(cls, path: str | Path | None, overrides: Mapping[str, str] = ()) -> TrainConfig:
        """Read a TOML file (optional) and apply ``key=value`` overrides (TOML values)."""
        values: dict[str, Any] = {}
        if path is not None:
            try:
                values = tomllib.loads(Path(path).read_text(encoding="utf-8"))
            except UnicodeDecodeError as exc:
                raise ConfigError(
                    f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
                ) from exc
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
        check_values(f"training config {path or ''}".strip(), values, field_types(cls))
        if values.get("model") not in learned_models():
            raise ConfigError(
                f"training config: model {values.get('model')!r}; one of {learned_models()}"
            )
        config = cls(**values)
        config.data = data_folder(config.data, what="training config key 'data'")
        if config.curves:
            from hdr_plugin.crf import curve_names

            known = curve_names()
            unknown_curves = [c for c in config.curves if c not in known]
            if unknown_curves:
                raise ConfigError(
                    f"training config: unknown camera curve {unknown_curves[0]!r}; "
                    f"curves: {', '.join(known)}"
                )
        if config.workers < 0:
            raise ConfigError(f"training config: workers {config.workers} must be 0 or more")
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
    return architecture(config.model)(**config.architecture)


def stack(images: list[np.ndarray]) -> np.ndarray:
    """(H, W, C) arrays of one size -> one contiguous (N, C, H, W) array."""
    return np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2))


def _synthesise(step: int) -> dict[str, np.ndarray]:
    """A worker process's job: the arrays of step ``step`` (its trainer came by fork)."""
    return _WORKER_TRAINER.batch_arrays(step)


_WORKER_TRAINER: Trainer | None = None


def scheduled_lr(config: TrainConfig, step: int, seconds: float = 0.0) -> float:
    """Learning rate at ``step``: linear warm-up over 2 %, then cosine decay to a tenth.

    With ``config.max_minutes``, the decay follows whichever of the steps and the wall time
    (``seconds`` into this session) is further along, so a run the clock stops still ends
    annealed, at a tenth.
    """
    warmup = max(1, config.steps // 50)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, config.steps - warmup)
    if config.max_minutes:
        progress = max(progress, seconds / (60 * config.max_minutes))
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
        self.net = self.build_network()
        if config.init:
            apply_state_dict(self.net, load_state_dict(config.init), source=config.init)
        self.net = self.net.to(self.device).train()
        if config.precision == "bfloat16":
            self.net = self.net.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(
            [p for p in self.net.parameters() if p.requires_grad], lr=config.lr
        )
        self.perceptual = (
            losses.PerceptualLoss(perceptual_encoder(config.backbone)).to(self.device)
            if config.backbone
            else None
        )
        self.step = 0
        self.rng = np.random.default_rng(config.seed)
        self.history: list[dict[str, Any]] = []
        split = load_split(config.data)
        self.split = split
        self._train_files = list_hdr_files(config.data, split["train"])
        self._validation_files = list_hdr_files(config.data, split["validation"])
        self._pool: list[np.ndarray] | None = None
        self._gate: LinearGate | None = None
        self._stream: Iterator[tuple[int, dict[str, np.ndarray]]] | None = None
        self._started: float | None = None

    def build_network(self) -> torch.nn.Module:
        """The network to train (the config's architecture)."""
        return build_network(self.config)

    def gated(self, code: torch.Tensor, hdr: torch.Tensor) -> torch.Tensor:
        """The network output ``hdr`` over the exact linearisation of ``code``, as rendered.

        For an HDR prediction, HDRCNN's blend without the positivity clamp of inference,
        so that predictions below the linearisation are pulled up rather than cut off
        without a gradient; for a log-gain prediction, the gain applied as in inference.
        """
        if self._gate is None:
            gate = LinearGate.for_spec(self.color, get_spec(self.config.model))
            self._gate = gate.to(self.device)
        return self._gate(code, hdr, positive=False)

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

    def sample_batch(self, step: int | None = None) -> list[Pair]:
        """The synthetic pairs of ``step`` (default: the next step's).

        Drawn from an RNG seeded by the run's seed and the step alone, so that any process
        makes the same batch for a step, and a resumed run sees the batches it would have.
        """
        step = self.step if step is None else step
        rng = np.random.default_rng([self.config.seed, BATCH_STREAM, step])
        pool = self._view_pool()
        pairs = []
        for _ in range(self.config.batch):
            view = pool[int(rng.integers(len(pool)))]
            if rng.random() < 0.5:
                view = view[:, ::-1]
            view = np.ascontiguousarray(view)
            pairs.append(synthesize(view, self.color, rng, self.pipeline(rng)))
        return pairs

    def pipeline(self, rng: np.random.Generator) -> Pipeline:
        """The camera pipeline of the next synthetic pair: a curve of ``config.curves``."""
        curves = self.config.curves
        curve = str(curves[int(rng.integers(len(curves)))]) if curves else None
        return Pipeline(curve=curve, clip_range=tuple(self.config.clip_range))

    def batch_arrays(self, step: int) -> dict[str, np.ndarray]:
        """The arrays of step ``step``'s batch that :meth:`to_batch` takes.

        Pure numpy, so that a worker process can make them; each model's trainer may say
        which it needs.
        """
        pairs = self.sample_batch(step)
        return {
            "sdr": stack([p.sdr for p in pairs]),
            "hdr": stack([p.hdr for p in pairs]),
            "hdr709": stack([p.hdr709 for p in pairs]),
            "sdr_continuous": stack([p.sdr_continuous for p in pairs]),
            "linear_clipped": stack([p.linear_clipped for p in pairs]),
            "inverse_curve": np.stack([p.inverse_curve for p in pairs]),
        }

    def to_batch(self, arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        """:meth:`batch_arrays` as the tensors :meth:`loss` takes, on the run's device."""
        batch = {k: torch.from_numpy(v).to(self.device) for k, v in arrays.items()}
        # The evaluation's clipped region (hdr_plugin.train.metrics.clipped_region).
        batch["clipped"] = (batch["sdr"].amax(dim=1, keepdim=True) >= CLIP_CODE).float()
        return batch

    def next_batch(self) -> dict[str, torch.Tensor]:
        """The tensors :meth:`loss` takes for the next step."""
        if not self.config.workers:
            return self.to_batch(self.batch_arrays(self.step))
        if self._stream is None:
            self._stream = self._prefetch()
        step, arrays = next(self._stream)
        if step != self.step:
            raise RuntimeError(f"batch of step {step} prefetched for step {self.step}")
        return self.to_batch(arrays)

    def _prefetch(self) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """Batches from ``config.workers`` forked processes, a few steps ahead."""
        global _WORKER_TRAINER
        self._view_pool()  # built once, before the fork, and shared by the workers
        _WORKER_TRAINER = self
        steps = iter(range(self.step, self.config.steps))
        ahead = PREFETCH_PER_WORKER * self.config.workers
        with multiprocessing.get_context("fork").Pool(self.config.workers) as pool:
            queue = deque(
                (s, pool.apply_async(_synthesise, (s,))) for s in itertools.islice(steps, ahead)
            )
            while queue:
                step, result = queue.popleft()
                following = next(steps, None)
                if following is not None:
                    queue.append((following, pool.apply_async(_synthesise, (following,))))
                yield step, result.get()

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The loss terms of one batch (summed for the step); each model's trainer says."""
        raise NotImplementedError

    # -- optimisation -------------------------------------------------------------------

    def train_step(self) -> dict[str, float]:
        """One optimisation step; returns the loss terms."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate()
        batch = self.next_batch()
        with self._autocast():
            terms = self.loss(batch)
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
        seconds = 0.0 if self._started is None else time.perf_counter() - self._started
        return scheduled_lr(self.config, self.step, seconds)

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
        """Mean metrics on the validation split: the evaluation's views at 256 px, sRGB 2 %."""
        model = self.inference_model()
        pipeline = EVALUATION_PIPELINES["srgb-2"]
        scores = []
        for index, path in enumerate(self._validation_files[:limit]):
            for number, view in enumerate(evaluation_views(load_hdr(path, self.color), 256)):
                pair = synthesize(
                    view, self.color, np.random.default_rng([index, number]), pipeline
                )
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
        # Tensors first, then the metadata that points at their step: a run killed between
        # the two resumes from a consistent pair (the JSON is only read with its tensors).
        with atomic_write(self.output / "checkpoint.safetensors") as temporary:
            save_file(tensors, str(temporary))
        with atomic_write(self.output / "checkpoint.json") as temporary:
            temporary.write_text(json.dumps(meta, indent=1))
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
        start = self._started = time.perf_counter()
        self.prepare(progress=progress)
        bar = tqdm(total=self.config.steps, initial=self.step, disable=not progress, unit="step")
        with bar:
            limit = self.config.max_minutes
            while self.step < self.config.steps:
                if limit is not None and time.perf_counter() - start > 60 * limit:
                    bar.write(f"stopping at step {self.step}: max_minutes={limit} reached")
                    self.save_checkpoint()  # the steps are kept even if validation fails
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
        if self._stream is not None:
            self._stream.close()  # ends the worker processes
            self._stream = None
        self.save_checkpoint()
        return self.export(time.perf_counter() - start)

    def write_log(self, name: str | None = None) -> Path:
        """Write ``<model>.log`` (:func:`training_log`) into the run folder."""
        name = name or Path(get_spec(self.config.model).weights).with_suffix(".log").name
        path = self.output / name
        self.output.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as temporary:
            temporary.write_text(training_log(self.history))
        return path

    def export_network(self) -> torch.nn.Module:
        """A copy of the network as shipped: without a loaded backbone, in ``weights_dtype``."""
        net = build_network(dataclasses.replace(self.config, backbone=None))
        net.load_state_dict(self.net.state_dict())
        return net.to(getattr(torch, self.config.weights_dtype))

    def export(self, seconds: float) -> Path:
        """Write ``<model>.safetensors`` and its model card into the run folder."""
        spec = get_spec(self.config.model)
        net = self.export_network()
        validation = [r["validation"] for r in self.history if "validation" in r]
        low, high = self.config.clip_range
        curves = ", ".join(self.config.curves) or "drawn from the whole family"
        card = {
            "model": spec.name,
            "architecture": self.config.architecture,
            "input": f"{spec.input_encoding}, values in [0, 1]",
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
                "log": self.write_log().name,
            },
            "validation_during_training": validation[-1] if validation else {},
            "weights_dtype": self.config.weights_dtype,
            "licence": spec.licence,
            "paper": spec.paper,
        }
        path = self.output / spec.weights
        save_weights(net, path, card)
        return path


def training_log(history: list[dict[str, Any]], every: int = 100) -> str:
    """The run as text: mean loss terms per ``every`` steps, and each validation."""
    lines = []
    for start in range(0, len(history), every):
        chunk = history[start : start + every]
        terms = sorted({k for r in chunk for k in r if k not in ("step", "validation")})
        means = ", ".join(f"{k} {np.mean([r[k] for r in chunk if k in r]):.4f}" for k in terms)
        lines.append(f"steps {chunk[0]['step']}-{chunk[-1]['step']}: {means}")
        lines += [
            f"step {r['step']} validation: {r['validation']}" for r in chunk if "validation" in r
        ]
    return "\n".join(lines) + "\n"


def perceptual_encoder(backbone: str) -> torch.nn.Module:
    """hybrid-mnv3's MobileNetV3 encoder with the user's ImageNet weights (from disk)."""
    from hdr_plugin.models.hybrid.arch import HybridMNV3

    return HybridMNV3(backbone=str(backbone)).encoder


def make_trainer(
    config: TrainConfig, color: ColorContext | None = None, command: str = ""
) -> Trainer:
    """The trainer of ``config.model``: ``TRAINER`` of ``hdr_plugin.train.<family>``."""
    family = get_spec(config.model).family
    module = importlib.import_module(f"{__package__}.{family}")
    return module.TRAINER(config, color, command)
