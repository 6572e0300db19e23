"""Blender: the HDR Reconstruct add-on (Compositor and Image Editor sidebar panels).

:mod:`.addon` runs inside Blender; :mod:`.sources` maps Blender's image sources to plates
without Blender; :mod:`.install` copies the add-on into Blender's scripts folder.
"""
