"""One exception type per failure family.

Every message names what failed (file, frame, knob or colourspace) and what to do about
it, so that the CLI can print it as a single line and hosts can show it as is.
"""


class HdrPluginError(Exception):
    """Base class of every error the project raises on purpose."""


class PlateError(HdrPluginError):
    """An input plate, matte or sequence cannot be read or is inconsistent."""


class OutputError(HdrPluginError):
    """An output file cannot be written (folder, permissions, disk)."""


class ColorError(HdrPluginError):
    """An OCIO config or colourspace cannot be resolved or applied."""


class ModelError(HdrPluginError):
    """A model is unknown, has no weights, or was given bad options."""


class ConfigError(HdrPluginError):
    """A setting, knob or command-line value is invalid."""


class PlateWarning(UserWarning):
    """A plate was read, but not all of it as written (NaN pixels taken as black)."""
