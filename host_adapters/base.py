"""The host-adapter protocol: what any host gives the core, and what the core gives back.

A host (Nuke, the standalone viewer, another compositor) implements the few abstract
methods; validation and rendering are shared here and go through the core, so a new host
is one new module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from hdr_plugin.color import ColorContext
from hdr_plugin.errors import HdrPluginError
from hdr_plugin.node import ReconstructNode, ReconstructSettings
from hdr_plugin.render import RenderJob, RenderResult, render


class HostAdapter(ABC):
    """One reconstruction node as a host sees it."""

    #: Host name, for messages.
    host = "host"

    @abstractmethod
    def settings(self) -> ReconstructSettings:
        """The knobs as the host holds them now."""

    @abstractmethod
    def color(self) -> ColorContext:
        """The host's OCIO config."""

    @abstractmethod
    def plate(self) -> tuple[str, str | None]:
        """The input plate pattern and frame range (``None`` = the plate's own)."""

    @abstractmethod
    def output(self) -> str:
        """The EXR output pattern."""

    @abstractmethod
    def report_error(self, message: str) -> None:
        """Show an error the host's way (dialog, node error, log)."""

    @abstractmethod
    def show_result(self, pattern: str, frames: list[int | None]) -> None:
        """Bring the rendered EXRs back into the host (a Read node, a viewer)."""

    def validate(self) -> str | None:
        """Check every knob through the core; report and return the error, or ``None``."""
        try:
            self.settings().validate(self.color())
        except HdrPluginError as exc:
            message = f"{self.host}: {exc}"
            self.report_error(message)
            return message
        return None

    def render(self, *, progress: bool = False) -> RenderResult:
        """Render the plate through the core and show the result in the host.

        Raises:
            HdrPluginError: invalid knobs or a failed frame (also reported to the host).
        """
        try:
            node = ReconstructNode(self.settings(), self.color())
            pattern, frames = self.plate()
            job = RenderJob(input=pattern, output=self.output(), frames=frames)
            result = render(job, node, progress=progress)
        except HdrPluginError as exc:
            self.report_error(f"{self.host}: {exc}")
            raise
        from hdr_plugin.sequence import expand_input

        self.show_result(self.output(), [f.frame for f in expand_input(pattern, frames)])
        return result
