"""Runs inside real Krita (``kritarunner -s krita_driver -f main``) for tests/test_krita.py.

Loads the installed plugin the way Krita does (imports the package named in its
``.desktop`` file from the ``pykrita`` folder), opens the plate, fills the plugin's own
dialog and runs it, then writes what Krita holds to ``$HDR_KRITA_OUT``: ``result.json``
(documents, depth, profile, layers, messages) and the new document's layers as ``.npy``.
"""

import json
import os
import sys
from pathlib import Path


def _layer(node, width, height):
    import numpy as np

    data = bytes(node.pixelData(0, 0, width, height))
    return np.frombuffer(data, dtype="<f4").reshape(height, width, 4)


def main(*_args):
    out = Path(os.environ["HDR_KRITA_OUT"])
    case = os.environ["HDR_KRITA_CASE"]
    sys.path.insert(0, os.environ["HDR_KRITA_PYKRITA"])
    import hdr_reconstruct  # noqa: F401 - Krita's plugin loader does this import
    import numpy as np
    from krita import Krita

    from hdr_plugin.color import ColorContext
    from hdr_plugin.host_adapters.krita.plugin import HdrReconstructExtension, ReconstructDialog

    app = Krita.instance()
    extensions = [e for e in app.extensions() if isinstance(e, HdrReconstructExtension)]
    plate = app.openDocument(os.environ["HDR_KRITA_PLATE"])
    if case == "u16":
        plate.setColorSpace("RGBA", "U16", plate.colorProfile())
        pixels = bytes(plate.topLevelNodes()[0].pixelData(0, 0, plate.width(), plate.height()))
        (out / "plate.u16").write_bytes(pixels)  # what Krita holds: BGRA, 16-bit
    dialog = ReconstructDialog(plate, ColorContext.resolve())
    messages = []
    if case == "mask":
        dialog.mask_layer.setChecked(True)
        dialog.exr.setText(str(out / "krita.exr"))
    if case == "bad":
        dialog.set_knob("input_colorspace", "Not A Colourspace")
    if case == "show-view":  # under the show's config ($OCIO), the plate named by its view
        dialog.set_knob("input_view", os.environ["HDR_KRITA_VIEW"])
    if case == "selection":  # the right half of the plate (not the sun), as the matte
        from krita import Selection

        selection = Selection()
        half = plate.width() // 2
        selection.select(half, 0, plate.width() - half, plate.height(), 255)
        plate.setSelection(selection)
        dialog.matte.setCurrentText("selection")
    before = len(app.documents())
    hdr = dialog.run(report=messages.append, wait=True)
    result = {
        "extensions": len(extensions),
        "messages": messages,
        "created": len(app.documents()) - before,
        "plate": [plate.colorModel(), plate.colorDepth(), plate.colorProfile()],
    }
    if hdr is not None:
        width, height = hdr.width(), hdr.height()
        result.update(
            model=hdr.colorModel(),
            depth=hdr.colorDepth(),
            profile=hdr.colorProfile(),
            size=[width, height],
            layers=[[n.name(), n.type(), n.visible()] for n in hdr.topLevelNodes()],
        )
        for i, node in enumerate(hdr.topLevelNodes()):
            np.save(out / f"layer{i}.npy", _layer(node, width, height))
    (out / "result.json").write_text(json.dumps(result))
