"""The bundled OCIO config (``config.ocio``) and the script that generates it."""

from pathlib import Path

BUNDLED_CONFIG = Path(__file__).with_name("config.ocio")
