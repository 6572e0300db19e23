"""Training the camera-curve classifier behind ``--input-colorspace auto``.

A step is a batch of training views, each degraded by one curve of the documented family
(half of them display encodings, a quarter of those plain sRGB; the other half tone-mapped
curves), 8/10-bit, noise and JPEG as usual, with 0.5-15 % of pixels clipped. The loss is
the cross-entropy of the curve's class plus the binary cross-entropy of whether it is
tone-mapped (what the decision reads). Validation reports how often the decision
(:func:`~hdr_plugin.models.camera_curve.decide`) keeps a display-encoded plate on sRGB and
how often it takes a tone-mapped plate off it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from hdr_plugin.models.camera_curve import (
    NAME,
    WEIGHTS_FILE,
    curve_names,
    decide,
    is_display_curve,
)
from hdr_plugin.models.camera_curve.arch import CameraCurveEstimator, proxy
from hdr_plugin.models.engine.weights import save_weights
from hdr_plugin.train.data import load_hdr, random_view
from hdr_plugin.train.degrade import Pipeline, synthesize
from hdr_plugin.train.trainer import Trainer, build_network, register_trainer, to_tensor


def draw_curve(rng: np.random.Generator) -> int:
    """Class index of the next training curve."""
    names = curve_names()
    display = [i for i, n in enumerate(names) if is_display_curve(n)]
    tone = [i for i, n in enumerate(names) if not is_display_curve(n)]
    if rng.random() < 0.5:
        return int(rng.choice(tone))
    if rng.random() < 0.25:
        return names.index("srgb")
    return int(rng.choice(display))


@register_trainer(NAME)
class CameraCurveTrainer(Trainer):
    """:class:`Trainer` for the :class:`~hdr_plugin.models.camera_curve.CurveNet`."""

    def pipeline_for(self, index: int) -> Pipeline:
        return Pipeline(curve=curve_names()[index], clip_range=tuple(self.config.clip_range))

    def next_batch(self) -> dict[str, torch.Tensor]:
        pool = self._view_pool()
        codes, labels = [], []
        for _ in range(self.config.batch):
            view = pool[int(self.rng.integers(len(pool)))]
            if self.rng.random() < 0.5:
                view = view[:, ::-1]
            label = draw_curve(self.rng)
            pair = synthesize(
                np.ascontiguousarray(view), self.color, self.rng, self.pipeline_for(label)
            )
            codes.append(proxy(pair.sdr)[0].permute(1, 2, 0).numpy())
            labels.append(label)
        names = curve_names()
        return {
            "code": to_tensor(codes, self.device),
            "label": torch.tensor(labels, device=self.device),
            "tone_mapped": torch.tensor(
                [0.0 if is_display_curve(names[i]) else 1.0 for i in labels], device=self.device
            ),
        }

    def inference_model(self) -> CameraCurveEstimator:
        net = build_network(self.config)
        net.load_state_dict(self.net.state_dict())
        return CameraCurveEstimator(net, weights_hash=None, device=self.device)

    def validate(self, limit: int | None = None) -> dict[str, float]:
        """Decision rates on validation views (display plates kept on sRGB, tone-mapped off it)."""
        estimator = self.inference_model()
        rng = np.random.default_rng(12345)
        names = curve_names()
        kept, taken, correct = [], [], []
        for path in self._validation_files[:limit]:
            image = load_hdr(path, self.color)
            for _ in range(8):
                view = random_view(image, min(256, *image.shape[:2]), rng)
                label = draw_curve(rng)
                pair = synthesize(view, self.color, rng, self.pipeline_for(label))
                probabilities, tone = estimator.probabilities(pair.sdr)
                srgb = decide(probabilities, tone).inverse is None
                correct.append(float(np.argmax(probabilities) == label))
                (kept if is_display_curve(names[label]) else taken).append(
                    srgb if is_display_curve(names[label]) else not srgb
                )
        return {
            "display_kept_srgb": float(np.mean(kept)) if kept else float("nan"),
            "tone_mapped_detected": float(np.mean(taken)) if taken else float("nan"),
            "top1": float(np.mean(correct)) if correct else float("nan"),
        }

    def export(self, seconds: float):
        net = build_network(self.config)
        net.load_state_dict(self.net.state_dict())
        validation = [r["validation"] for r in self.history if "validation" in r]
        card = {
            "model": NAME,
            "architecture": self.config.architecture,
            "input": "display-encoded plate, code values in [0, 1] (any curve of the family)",
            "output": f"logits over {len(curve_names())} curves of hdr_plugin.models.crf",
            "classes": list(curve_names()),
            "training": {
                "data": f"{len(self._train_files)} HDR images, split by scene family "
                "(hdr_plugin/train/split.json)",
                "command": self.command,
                "config": dataclasses.asdict(self.config),
                "steps": self.step,
                "seconds_this_session": round(seconds, 1),
                "device": str(self.device),
                "log": self.write_log(f"{NAME}.log").name,
            },
            "validation_during_training": validation[-1] if validation else {},
            "licence": "Apache-2.0 (weights trained by hdr_plugin)",
            "paper": "Liu et al., Single-image HDR reconstruction by learning to reverse the "
            "camera pipeline, CVPR 2020 (linearisation from image, edges and histogram)",
        }
        path = self.output / WEIGHTS_FILE
        save_weights(net.to(getattr(torch, self.config.weights_dtype)), path, card)
        return path

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Cross-entropy of the curve class and binary cross-entropy of "tone-mapped"."""
        logits, tone = self.net(batch["code"])
        tone_mapped = batch["tone_mapped"]
        return {
            "curve": F.cross_entropy(logits.float(), batch["label"]),
            "tone_mapped": F.binary_cross_entropy_with_logits(tone.float(), tone_mapped),
        }
