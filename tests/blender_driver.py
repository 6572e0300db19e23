"""Runs inside real Blender (the ``bpy`` module, in its own process) for tests/test_blender.py.

``python tests/blender_driver.py CASE OUT``: enables the add-on installed in
``$BLENDER_USER_SCRIPTS`` as Blender does, builds a compositing graph around the sample
plates, runs the add-on's operators headless, renders the compositor, and writes what
Blender holds to ``OUT/result.json`` (and the composites as EXRs).
"""

import json
import os
import sys
import time
from pathlib import Path

import bpy  # first: Blender as a module, before NumPy and the core

CASE, OUT = sys.argv[1], Path(sys.argv[2])
PLATES = Path(os.environ["HDR_BLENDER_PLATES"])
MATTE = os.environ["HDR_BLENDER_MATTE"]


def _graph():
    """The sample pan as an Image node feeding a Blur, then the Composite."""
    scene = bpy.context.scene
    scene.use_nodes = True
    tree = scene.node_tree
    for node in list(tree.nodes):
        tree.nodes.remove(node)
    image = bpy.data.images.load(str(PLATES / "pan.1001.png"))
    image.source = "SEQUENCE"
    plate = tree.nodes.new("CompositorNodeImage")
    plate.name, plate.image = "plate", image
    plate.frame_duration, plate.frame_start, plate.frame_offset = 24, 1, 1000
    blur = tree.nodes.new("CompositorNodeBlur")  # downstream graph that must stay wired
    blur.size_x = blur.size_y = 0
    composite = tree.nodes.new("CompositorNodeComposite")
    tree.links.new(plate.outputs["Image"], blur.inputs["Image"])
    tree.links.new(blur.outputs["Image"], composite.inputs["Image"])
    tree.nodes.active = plate
    scene.frame_start, scene.frame_end = 1, 24
    scene.render.resolution_x, scene.render.resolution_y = 480, 270
    scene.render.resolution_percentage = 100
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 1
    settings = scene.render.image_settings
    settings.file_format, settings.color_depth = "OPEN_EXR", "32"
    bpy.ops.wm.save_as_mainfile(filepath=str(OUT / "graph.blend"))
    return scene, tree


def _composite(scene, frame: int) -> str:
    scene.frame_set(frame)
    scene.render.filepath = str(OUT / f"composite.{frame:04d}.exr")
    bpy.ops.render.render(write_still=True)
    return scene.render.filepath


def _links(tree):
    return sorted(
        [link.from_node.name, link.from_socket.name, link.to_node.name, link.to_socket.name]
        for link in tree.links
    )


def main() -> None:
    enabled = bpy.ops.preferences.addon_enable(module="hdr_reconstruct")
    from hdr_plugin.host_adapters.blender import addon

    result = {"enabled": sorted(enabled), "panels": hasattr(bpy.types, "HDR_PT_compositor")}
    scene, tree = _graph()
    result["properties"] = sorted(scene.hdr_reconstruct.bl_rna.properties.keys())
    if CASE == "movie":  # the sample pan as an H.264 movie in place of the sequence
        import subprocess

        movie = OUT / "pan.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-framerate", "24", "-start_number", "1001",
             "-i", str(PLATES / "pan.%04d.png"), "-c:v", "libx264", "-crf", "12",
             "-pix_fmt", "yuv420p", str(movie)], check=True,
        )  # fmt: skip
        plate = tree.nodes["plate"]
        plate.image = bpy.data.images.load(str(movie))
        plate.frame_duration, plate.frame_start, plate.frame_offset = 24, 1, 0
        result["source"] = plate.image.source
    if CASE in ("compositor", "matte", "movie"):
        props = scene.hdr_reconstruct
        props.mask_output = CASE == "compositor"
        if CASE == "matte":
            matte = tree.nodes.new("CompositorNodeImage")
            matte.name, matte.image = "sun matte", bpy.data.images.load(MATTE)
            props.matte, props.mix = "sun matte", 0.8
        start = time.perf_counter()
        result["operator"] = sorted(bpy.ops.hdr.reconstruct_node(wait=True))
        result["seconds"] = time.perf_counter() - start
        new = tree.nodes.active
        result |= {
            "node": new.name,
            "outputs": [o.name for o in new.outputs],
            "colorspace": new.image.colorspace_settings.name,
            "filepath": bpy.path.abspath(new.image.filepath),
            "frames": [new.frame_start, new.frame_duration, new.frame_offset],
            "links": _links(tree),
            "composites": {f: _composite(scene, f) for f in (1, 12, 24)},
        }
    if CASE == "cancel":
        job = addon.ReconstructJob(bpy.context, tree.nodes["plate"])
        job.start()
        while job.done < 1 and job.thread.is_alive():
            time.sleep(0.01)
        job.cancel()
        job.thread.join()
        result |= {
            "error": job.error,
            "node": job.finish(bpy.context),
            "nodes": len(tree.nodes),
            "written": len(list((OUT / "hdr").glob("*.exr"))),
        }
    if CASE == "bad":
        before = len(tree.nodes)

        def outcome(operator, **kwargs):  # headless, an ERROR report raises in the caller
            try:
                return sorted(operator(**kwargs))
            except RuntimeError as exc:
                return str(exc).strip()

        outcomes = {}
        tree.nodes.active = tree.nodes["Blur"]
        outcomes["not an image node"] = outcome(bpy.ops.hdr.reconstruct_node, wait=True)
        tree.nodes.active = tree.nodes["plate"]
        scene.hdr_reconstruct.model_options = "no_such_option=1"
        outcomes["bad knob"] = outcome(bpy.ops.hdr.reconstruct_node, wait=True)
        scene.hdr_reconstruct.model_options = ""
        tree.nodes["plate"].image.source = "GENERATED"
        outcomes["generated"] = outcome(bpy.ops.hdr.reconstruct_node, wait=True)
        outcomes["no image shown"] = outcome(bpy.ops.hdr.reconstruct_image)
        result |= {
            "outcomes": outcomes,
            "created": len(tree.nodes) - before,
            "written": len(list(OUT.rglob("*.exr"))),
        }
    if CASE == "image":
        import numpy as np

        image = bpy.data.images.load(str(PLATES / "pan.1012.png"))
        with bpy.context.temp_override(edit_image=image):
            result["operator"] = sorted(bpy.ops.hdr.reconstruct_image())
        made = bpy.data.images[f"{image.name} HDR"]
        width, height = made.size
        pixels = np.empty(width * height * 4, np.float32)
        made.pixels.foreach_get(pixels)
        np.save(OUT / "image.npy", pixels.reshape(height, width, 4)[::-1])
        result |= {"colorspace": made.colorspace_settings.name, "float": made.is_float}
    (OUT / "result.json").write_text(json.dumps(result))


main()
# Blender as a Python module crashes tearing down the classes an add-on registered.
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
