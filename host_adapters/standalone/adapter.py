"""The standalone host: plain attributes instead of knobs, errors to stderr or a callback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from hdr_plugin.color import ColorContext
from hdr_plugin.host_adapters.base import HostAdapter
from hdr_plugin.node import ReconstructSettings


@dataclass
class StandaloneAdapter(HostAdapter):
    """A node held by a script or the viewer app.

    Attributes:
        plate_pattern: input plate (file or sequence pattern).
        output_pattern: EXR output pattern.
        knobs: the node settings.
        frames: frame range, ``None`` for the plate's own.
        ocio_config: OCIO config path (``None``: $OCIO, else the bundled config).
        on_error: where errors go (default: one line on stderr).
        on_result: called with (output pattern, frames) after a render.
    """

    plate_pattern: str
    output_pattern: str
    knobs: ReconstructSettings = field(default_factory=ReconstructSettings)
    frames: str | None = None
    ocio_config: str | None = None
    on_error: Callable[[str], None] | None = None
    on_result: Callable[[str, list], None] | None = None
    host = "standalone"

    def settings(self) -> ReconstructSettings:
        return self.knobs

    def color(self) -> ColorContext:
        return ColorContext.resolve(self.ocio_config)

    def plate(self) -> tuple[str, str | None]:
        return self.plate_pattern, self.frames

    def output(self) -> str:
        return self.output_pattern

    def report_error(self, message: str) -> None:
        if self.on_error is not None:
            self.on_error(message)
        else:
            print(message, file=sys.stderr)

    def show_result(self, pattern: str, frames: list) -> None:
        if self.on_result is not None:
            self.on_result(pattern, frames)
