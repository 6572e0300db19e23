"""``highlight-unet``: a convolutional hallucination net for the clipped channels of a plate.

The plate arrives display-linear Rec.709 (OCIO's linearisation, 1.0 = SDR peak). Below the
clip that is already the scene, so the output is the input there, bit for bit. A channel
at the clip (its top code: linear >= ``clip.CLIP_LINEAR``) is multiplied by ``exp(g)``,
``g >= 0`` a log gain per channel predicted by a small U-Net (Ronneberger et al., MICCAI
2015) that runs on a proxy of the frame whose short edge is
:attr:`HighlightUNet.proxy_edge` pixels: the gated positive residual of HDRCNN (Eilertsen
et al., SIGGRAPH Asia 2017) over an exact linearisation, with the context a clipped pixel
needs (how large and how deep its highlight is, how bright and how coloured its surround,
what else in the frame is bright) within the U-Net's receptive field (about 200 proxy
pixels) and its global pooling.

The gain meets the plate continuously at the edge of the clip: on the proxy, a clipped
channel's log gain is weighted by how deep inside its clipped region the proxy pixel is
(0 at the edge, 1 from :attr:`HighlightUNet.feather` proxy pixels in, or at the core of a
smaller region), and the weighted gain is upsampled smoothly. A broad region where one
channel clipped (a sunset sky where only red clipped) therefore rises from the decoded
plate instead of stepping up at its edge.

On a plate whose chroma a codec subsampled (JPEG, H.264, ProRes), a clipped highlight is
no longer at the top code throughout, so each channel's probability ``p`` of having clipped
comes from :class:`~hdr_plugin.models.highlight_unet.clip.ClipDetector` instead, and the
channel becomes ``(1 - p) x + p max(x, clip) exp(g)``: a highlight the codec speckled is
lifted as a whole (see :mod:`hdr_plugin.models.highlight_unet.clip`).

The whole model is torch: it runs on the GPU when there is one and scripts to TorchScript
(``hdr-plugin export``) with any frame size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hdr_plugin.models.engine.gate import start_at_the_linearisation
from hdr_plugin.models.highlight_unet.clip import (
    CLIP_LINEAR,
    DETECTOR_REACH,
    NEAR_CLIP,
    ClipDetector,
    chroma_subsampled,
)

#: Linear values are floored here before the log the network sees (about 1/1000 of peak).
LOG_FLOOR = 1e-3
#: Inputs per proxy pixel: log linear RGB, the clipped share of each channel.
IN_CHANNELS = 6


def _running_max(x: torch.Tensor, size: int, dim: int) -> torch.Tensor:
    """Maximum over ``size`` consecutive elements along ``dim`` (the first at each index).

    The window doubles each step (max of a window and its copy shifted by its length), so
    a window of ``size`` costs about log2(size) maxima rather than ``size``.
    """
    out = x
    span = 1
    while span < size:
        step = min(span, size - span)
        length = out.shape[dim] - step
        out = torch.maximum(out.narrow(dim, 0, length), out.narrow(dim, step, length))
        span += step
    return out


def _box_max(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Maximum over the (2 radius + 1)² box around each pixel (frame edges do not count).

    Separable running maxima over padded views: several times faster on the CPU than
    ``max_pool2d``, with the same result.
    """
    size = 2 * radius + 1
    rows = _running_max(F.pad(x, [radius, radius, 0, 0], value=float("-inf")), size, 3)
    return _running_max(F.pad(rows, [0, 0, radius, radius], value=float("-inf")), size, 2)


def _axis(
    index: torch.Tensor, size_in: int, size_out: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Source indices and weight of output ``index`` under bilinear, align_corners=False."""
    position = ((index.to(torch.float32) + 0.5) * (size_in / size_out) - 0.5).clamp(min=0.0)
    low = position.floor().to(torch.long).clamp(max=size_in - 1)
    high = (low + 1).clamp(max=size_in - 1)
    return low, high, position - low.to(torch.float32)


def _crop(x: torch.Tensor, window: list[int]) -> torch.Tensor:
    """Rows ``window[0]:window[1]`` and columns ``window[2]:window[3]`` of (N, C, H, W)."""
    return x[:, :, window[0] : window[1], window[2] : window[3]]


def _grow(window: list[int], by: int, size: list[int]) -> list[int]:
    """``window`` grown by ``by`` pixels on each side, within a (h, w) ``size``."""
    return [
        max(window[0] - by, 0),
        min(window[1] + by, size[0]),
        max(window[2] - by, 0),
        min(window[3] + by, size[1]),
    ]


def _source_window(window: list[int], size_in: list[int], size_out: list[int]) -> list[int]:
    """What bilinear upsampling of a ``size_in`` grid to ``size_out`` reads for ``window``."""
    rows = torch.tensor([window[0], window[1] - 1])
    cols = torch.tensor([window[2], window[3] - 1])
    top, bottom, _ = _axis(rows, size_in[0], size_out[0])
    left, right, _ = _axis(cols, size_in[1], size_out[1])
    return [int(top[0]), int(bottom[1]) + 1, int(left[0]), int(right[1]) + 1]


def _reached_window(window: list[int], size_in: list[int], size_out: list[int]) -> list[int]:
    """The outputs of bilinear upsampling from ``size_in`` to ``size_out`` that read ``window``.

    Where the input is zero outside ``window``, so is the output outside this.
    """
    reached: list[int] = []
    for axis in range(2):
        index = torch.arange(size_out[axis])
        low, high, _ = _axis(index, size_in[axis], size_out[axis])
        hits = ((high >= window[2 * axis]) & (low < window[2 * axis + 1])).nonzero()
        reached += [int(hits[0]), int(hits[-1]) + 1]
    return reached


def _upsample_window(
    x: torch.Tensor,
    have: list[int],
    want: list[int],
    size_in: list[int],
    size_out: list[int],
) -> torch.Tensor:
    """Window ``want`` of a ``size_in`` grid upsampled to ``size_out``, from its ``have``.

    Bilinear with align_corners=False, as ``F.interpolate`` (columns first, as there).
    """
    rows = torch.arange(want[0], want[1], device=x.device)
    cols = torch.arange(want[2], want[3], device=x.device)
    top, bottom, wy = _axis(rows, size_in[0], size_out[0])
    left, right, wx = _axis(cols, size_in[1], size_out[1])
    wx = wx.to(x.dtype)
    wy = wy.to(x.dtype)[:, None]
    x = x.index_select(3, left - have[2]) * (1 - wx) + x.index_select(3, right - have[2]) * wx
    return x.index_select(2, top - have[0]) * (1 - wy) + x.index_select(2, bottom - have[0]) * wy


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.LeakyReLU(0.1),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.LeakyReLU(0.1),
    )


class HighlightUNet(nn.Module):
    """Display-linear Rec.709 (N, 3, H, W) in [0, 1] -> display-linear Rec.709 with highlights.

    Args:
        widths: channels per U-Net level, full proxy resolution first; each further level
            halves the resolution.
        proxy_edge: short edge of the proxy the U-Net runs on, pixels.
        feather: depth into a clipped region, in proxy pixels, over which its gain rises
            from 0 to full.
    """

    tile_multiple = 1
    receptive_field = 1

    def __init__(
        self,
        widths: tuple[int, ...] = (16, 32, 48, 64, 96),
        proxy_edge: int = 256,
        feather: int = 8,
    ):
        super().__init__()
        widths = tuple(widths)
        if not widths or min(widths) < 1 or proxy_edge < 8 or feather < 1:
            raise ValueError(
                f"widths {list(widths)}, proxy_edge {proxy_edge}, feather {feather}: "
                "positive widths, a proxy of at least 8 px and a feather of at least 1"
            )
        self.proxy_edge = proxy_edge
        self.feather = feather
        # Attributes, not globals, so that TorchScript sees them.
        self.clip_linear = CLIP_LINEAR
        self.near_clip = NEAR_CLIP
        self.detector_reach = DETECTOR_REACH
        self.log_floor = LOG_FLOOR
        self.detector = ClipDetector()
        self.down = nn.ModuleList()
        cin = IN_CHANNELS
        for width in widths:
            self.down.append(_block(cin, width))
            cin = width
        # The coarsest level also sees the frame's mean features (what else is bright).
        self.glob = nn.Sequential(nn.Linear(widths[-1], widths[-1]), nn.LeakyReLU(0.1))
        self.up = nn.ModuleList(
            _block(widths[k + 1] + widths[k], widths[k]) for k in reversed(range(len(widths) - 1))
        )
        self.head = nn.Conv2d(widths[0], 3, 1)
        start_at_the_linearisation(self.head)

    def proxy_size(self, height: int, width: int) -> list[int]:
        """(h, w) of the proxy of a frame: short edge ``proxy_edge`` (never upscaled)."""
        scale = min(1.0, self.proxy_edge / min(height, width))
        # int(round()) rather than round(): TorchScript's round returns a float.
        return [max(1, int(round(height * scale))), max(1, int(round(width * scale)))]  # noqa: RUF046

    def clip_probability(
        self, linear: torch.Tensor, clipped: torch.Tensor, compressed: torch.Tensor
    ) -> torch.Tensor:
        """(N, 3, H, W) probability that each channel of ``linear`` clipped in the scene.

        ``clipped`` is ``linear >= clip_linear``, the answer (0 or 1) for the frames whose
        ``compressed`` is false; for a frame whose chroma a codec subsampled, the
        detector's probability from :data:`NEAR_CLIP` up (computed on the window of
        near-clip pixels only), and 1 at the top code.
        """
        probability = clipped.to(linear.dtype)
        # Only the window holding every near-clip pixel can change, and the detector sees
        # it with its reach around it (NCHW: its convolutions of 3 channels run faster so).
        near_pixel = linear.amax(dim=1) >= self.near_clip
        rows = near_pixel.any(dim=2).any(dim=0).nonzero()
        cols = near_pixel.any(dim=1).any(dim=0).nonzero()
        size = [linear.shape[2], linear.shape[3]]
        window = [int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1]
        reach = _grow(window, self.detector_reach, size)
        logit = self.detector(_crop(linear, reach).float().contiguous())
        inner = [window[0] - reach[0], window[1] - reach[0]]
        inner += [window[2] - reach[2], window[3] - reach[2]]
        part = _crop(clipped, window).to(probability.dtype)  # not a view: it is written below
        near = (_crop(linear, window) >= self.near_clip).to(part.dtype)
        detected = torch.maximum(part, torch.sigmoid(_crop(logit, inner)).to(part.dtype) * near)
        probability[:, :, window[0] : window[1], window[2] : window[3]] = torch.where(
            compressed[:, None, None, None], detected, part
        )
        return probability

    def log_gains(
        self, linear: torch.Tensor, clipped: torch.Tensor
    ) -> tuple[torch.Tensor, list[int]]:
        """Log gains >= 0 on the proxy of ``linear`` (N, 3, H, W), feathered, and their window.

        ``clipped`` is each channel's probability of having clipped
        (:meth:`clip_probability`; 0 or 1 on a lossless plate). The gains
        are nonzero only inside clipped regions; they are returned on the proxy window
        [r0, r1, c0, c1] holding those (N, 3, r1 - r0, c1 - c0), zero everywhere else.
        An empty window (nothing deep enough in a clip) comes with no gains.
        """
        size = self.proxy_size(linear.shape[2], linear.shape[3])
        # NCHW: the antialiased downscale of a mask so runs faster, with identical values.
        share = clipped.to(linear.dtype, memory_format=torch.contiguous_format)
        if size[0] != linear.shape[2] or size[1] != linear.shape[3]:
            linear = F.interpolate(
                linear, size=size, mode="bilinear", align_corners=False, antialias=True
            )
            share = F.interpolate(
                share, size=size, mode="bilinear", align_corners=False, antialias=True
            )
        weight = self.depth_weight(share.float())
        inside = weight.amax(dim=(0, 1)) > 0
        if not bool(inside.any()):
            return weight[:, :, :0, :0], [0, 0, 0, 0]
        rows = inside.any(dim=1).nonzero()
        cols = inside.any(dim=0).nonzero()
        window = [int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1]
        x = torch.cat([torch.log(linear.clamp(min=self.log_floor)), share], dim=1)
        # Channels last: oneDNN's convolutions of few channels run about 1.5x faster so.
        x = x.contiguous(memory_format=torch.channels_last)
        head = self.head(self.features(x, window)).float()
        return F.softplus(head) * _crop(weight, window), window

    def features(self, x: torch.Tensor, window: list[int]) -> torch.Tensor:
        """The U-Net's last features on ``window`` ([r0, r1, c0, c1]) of the proxy ``x``.

        The contracting path runs on the whole proxy (every level's context); the
        expanding path only where ``window`` needs it: each level on the window its finer
        level reads, grown by the two pixels its 3x3 convolutions see. Gains are needed
        only inside clipped regions, usually a small part of the frame, and the expanding
        path is most of the U-Net's cost. The result equals the whole U-Net's on the
        window (zero padding still applies at the proxy's edges only).
        """
        skips: list[torch.Tensor] = []
        for index, block in enumerate(self.down):
            if index > 0:
                skips.append(x)
                x = F.avg_pool2d(x, 2, ceil_mode=True)
            x = block(x)
        x = x + self.glob(x.mean(dim=(2, 3)))[:, :, None, None]
        sizes = [[s.shape[2], s.shape[3]] for s in skips] + [[x.shape[2], x.shape[3]]]
        # Finest level first: the window each level outputs, and the one its block reads.
        outputs = [window]
        reads: list[list[int]] = []
        for level in range(len(skips)):
            read = _grow(outputs[level], 2, sizes[level])
            reads.append(read)
            outputs.append(_source_window(read, sizes[level + 1], sizes[level]))
        x = _crop(x, outputs[-1])
        for block in self.up:
            skip = skips.pop()
            level = len(skips)
            read = reads[level]
            x = _upsample_window(x, outputs[level + 1], read, sizes[level + 1], sizes[level])
            x = block(torch.cat([x, _crop(skip, read)], dim=1))
            out = outputs[level]
            x = _crop(x, [out[0] - read[0], out[1] - read[0], out[2] - read[2], out[3] - read[2]])
        return x

    def depth_weight(self, share: torch.Tensor) -> torch.Tensor:
        """(N, 3, h, w) in [0, 1]: how deep inside its channel's clipped region a proxy pixel is.

        ``share`` is the clipped share of each proxy pixel. Pixels mostly clipped count as
        inside; the depth is the number of 3x3 erosions a pixel survives (1 at the edge, up
        to :attr:`feather`), over the deepest depth nearby, so a region smaller than the
        feather still reaches full gain at its core.
        """
        inside = (share > 0.5).to(share.dtype)
        depth = inside
        eroded = inside
        for _ in range(self.feather - 1):
            eroded = -_box_max(-eroded, 1)
            depth = depth + eroded
        deepest = _box_max(depth, self.feather)
        return inside * (depth - 0.5) / (deepest - 0.5).clamp(min=0.5)

    def forward(self, linear: torch.Tensor) -> torch.Tensor:
        """Expand the clipped channels of ``linear`` ((N, 3, H, W) display-linear Rec.709).

        Works channels-last (the layout of an image from a file, which the result keeps):
        the clipped elements are found and changed in memory order.
        """
        linear = linear.float().contiguous(memory_format=torch.channels_last)
        clipped = linear >= self.clip_linear
        if int(torch.count_nonzero(clipped)) == 0:  # 3x faster than any() on a frame
            return linear
        compressed = chroma_subsampled(linear)
        if bool(compressed.any()):
            return self.expand(linear, self.clip_probability(linear, clipped, compressed))
        # A lossless plate's mask stays boolean: the probability is its 0 or 1.
        return self.expand(linear, clipped)

    def expand(self, linear: torch.Tensor, probability: torch.Tensor) -> torch.Tensor:
        """``linear`` (N, 3, H, W, channels last) with its clipped channels lifted by the gains.

        ``probability`` is each channel's chance of having clipped: boolean on a lossless
        plate (those channels are multiplied by the gain), else in [0, 1], and each channel
        becomes ``(1 - p) x + p max(x, clip) gain``, differentiable in ``p`` (the detector's
        end-to-end training).
        """
        gains, window = self.log_gains(linear, probability)
        if gains.numel() == 0:
            return linear
        # Only the frame's region whose proxy gains are not zero changes, and there only
        # clipped channels: the gains are upsampled (bilinearly, as F.interpolate would)
        # over that region alone, not over the whole frame.
        frame = [linear.shape[2], linear.shape[3]]
        proxy = self.proxy_size(frame[0], frame[1])
        have = _grow(window, 1, proxy)  # the bilinear neighbours, zero outside the window
        gains = F.pad(
            gains,
            [window[2] - have[2], have[3] - window[3], window[0] - have[0], have[1] - window[1]],
        )
        region = _reached_window(window, proxy, frame)
        gain = torch.exp(_upsample_window(gains, have, region, proxy, frame))
        part = _crop(linear, region)
        out = linear.clone()
        if probability.dtype != torch.bool:
            # (1 - p) x + p max(x, clip) g: x g where p is 1 (x at the clip), x where p is 0.
            p = _crop(probability, region)
            lifted = p * part.clamp(min=self.clip_linear) * gain + (1 - p) * part
            changed = torch.where(p > 0, lifted, part)
        else:
            changed = torch.where(_crop(probability, region), part * gain, part)
        out[:, :, region[0] : region[1], region[2] : region[3]] = changed
        return out
