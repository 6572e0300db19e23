"""Nuke-style host adapter: the HDRReconstruct node (``node.py``), ``init.py``, ``menu.py``.

Put this folder on ``NUKE_PATH``; ``hdr_plugin`` must be importable by Nuke's Python
(install it into that Python, or name its site-packages in ``$HDR_PLUGIN_SITE``).
"""
