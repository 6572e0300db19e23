"""Krita host: the HDR Reconstruct pykrita plugin.

:mod:`.plugin` runs inside Krita; :mod:`.layers` (layer bytes <-> arrays, one layer
reconstructed) and :mod:`.install` (the installer) are Qt-free.
"""
