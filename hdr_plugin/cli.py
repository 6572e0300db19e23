"""``hdr-plugin`` command line: render, models, colorspaces.

Every failure the project anticipates is printed as one line on stderr
(``hdr-plugin: error: ...``) with exit status 1; usage errors exit with 2.
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from hdr_plugin import __version__
from hdr_plugin.color import ColorContext
from hdr_plugin.errors import ConfigError, HdrPluginError, OutputError, PlateWarning
from hdr_plugin.io import (
    DEFAULT_MAX_PIXELS,
    EXR_COMPRESSIONS,
    MAX_PIXELS_ENV,
    PIXEL_TYPES,
    atomic_write,
    check_not_an_input,
)
from hdr_plugin.models import DEFAULT_MODEL, create_model, has_weights, list_models
from hdr_plugin.node import (
    ReconstructNode,
    ReconstructSettings,
    node_parameters,
    parse_options,
)
from hdr_plugin.render import RenderJob, render


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hdr-plugin")
@click.option(
    "--ocio",
    "ocio_config",
    metavar="CONFIG",
    help="OCIO config to use (default: $OCIO, else the bundled config).",
)
@click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_PIXELS,
    envvar=MAX_PIXELS_ENV,
    show_envvar=True,
    help=f"Largest plate read, in pixels (default {DEFAULT_MAX_PIXELS}: 64 MP).",
)
@click.pass_context
def cli(ctx: click.Context, ocio_config: str | None, max_pixels: int) -> None:
    """HDR reconstruction: SDR Rec.709 plates in, scene-linear Rec.2020 EXR out."""
    ctx.obj = {"ocio": ocio_config, "max_pixels": max_pixels}


def _finite(value: float | None) -> float | None:
    """A number option's value, refused when NaN (which every range check lets through)."""
    if value is not None and math.isnan(value):
        raise click.BadParameter(f"{value} is not a number")
    return value


#: Flags of the knobs not spelled ``--knob-name``.
_FLAGS = {"model": ("-m", "--model"), "matte_invert": ("--invert-matte",)}


def cli_flags(name: str) -> tuple[str, ...]:
    """Command-line flags of knob ``name`` (``white_level`` -> ``--white-level``)."""
    return _FLAGS.get(name, (f"--{name.replace('_', '-')}",))


def knob_options(command: Callable) -> Callable:
    """Add one option per node knob (:func:`node_parameters`) to a click command."""
    for param in reversed(node_parameters()):
        default = param.default
        kwargs: dict[str, Any] = {"help": param.description[:1].upper() + param.description[1:]}
        if param.type is bool:
            kwargs |= {"is_flag": True}
        else:
            choice = (
                click.Choice(param.choices) if param.choices and param.name != "model" else None
            )
            kwargs |= {"type": choice or param.type, "default": default}
            kwargs["show_default"] = default is not None
        command = click.option(*cli_flags(param.name), param.name, **kwargs)(command)
    return command


@cli.command("render")
@click.argument("input_path", metavar="INPUT")
@click.option("-o", "--output", required=True, help="EXR file or pattern (plate.####.exr).")
@click.option("-f", "--frames", help="Frame range, e.g. 1001-1100 or 1001-1100x2.")
@knob_options
@click.option(
    "-O",
    "--option",
    "options",
    multiple=True,
    metavar="NAME=VALUE",
    help="Model option (see `hdr-plugin models`); repeatable.",
)
@click.option("--pixel-type", type=click.Choice(PIXEL_TYPES), default="half", show_default=True)
@click.option(
    "--compression", type=click.Choice(EXR_COMPRESSIONS), default="zip", show_default=True
)
@click.option("--write-masks", is_flag=True, help="Add mask.highlight (and mask.matte) channels.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@click.pass_context
def render_command(
    ctx: click.Context,
    input_path: str,
    output: str,
    frames: str | None,
    options: tuple[str, ...],
    pixel_type: str,
    compression: str,
    write_masks: bool,
    no_progress: bool,
    **knobs: Any,
) -> None:
    """Reconstruct INPUT (an image or a sequence such as plate.####.png) into EXR."""
    settings = ReconstructSettings(**knobs, model_options=parse_options(options))
    node = ReconstructNode(settings, ColorContext.resolve(ctx.obj["ocio"]))
    job = RenderJob(
        input=input_path,
        output=output,
        frames=frames,
        pixel_type=pixel_type,
        compression=compression,
        write_masks=write_masks,
        max_pixels=ctx.obj["max_pixels"],
    )
    start = time.perf_counter()
    result = render(job, node, progress=not no_progress)
    elapsed = time.perf_counter() - start
    count = len(result.outputs)
    first = os.path.abspath(result.outputs[0])
    where = first if count == 1 else f"{os.path.abspath(output)} ({count} frames)"
    click.echo(
        f"wrote {where} with model {settings.model!r} in {elapsed:.1f} s "
        f"({elapsed / count:.2f} s/frame)"
    )


@cli.command("export")
@click.argument("model")
@click.option("--format", "fmt", type=click.Choice(["torchscript"]), default="torchscript")
@click.option("-o", "--output", required=True, help="Output file, e.g. model.pt.")
@click.option("-O", "--option", "options", multiple=True, metavar="NAME=VALUE")
@click.option(
    "--size",
    type=click.IntRange(min=1),
    default=1024,
    show_default=True,
    help="Edge of the frame the network is traced at (size-dependent constants, such as "
    "the layered model's base resolution, are those of this size).",
)
@click.pass_context
def export_command(
    ctx: click.Context, model: str, fmt: str, output: str, options: tuple[str, ...], size: int
) -> None:
    """Export MODEL as a single-input TorchScript module (Nuke Inference / CatFileCreator)."""
    from hdr_plugin.export import export_torchscript

    built = create_model(model, ColorContext.resolve(ctx.obj["ocio"]), parse_options(options))
    path = export_torchscript(built, output, size=size)
    click.echo(f"wrote {os.path.abspath(path)} (+ {path.with_suffix('.json').name})")


@cli.command("train")
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a key.")
@click.option("--resume/--no-resume", default=True, show_default=True, help="Continue a run.")
@click.option("--no-progress", is_flag=True)
def train_command(
    config: str | None, overrides: tuple[str, ...], resume: bool, no_progress: bool
) -> None:
    """Train a learned model from CONFIG (TOML) and write safetensors + model card."""
    from hdr_plugin.train.trainer import TrainConfig, make_trainer

    settings = TrainConfig.load(config, parse_options(overrides))
    trainer = make_trainer(settings)
    if resume and trainer.resume():
        click.echo(f"resumed {settings.output} at step {trainer.step}")
    path = trainer.run(progress=not no_progress)
    click.echo(f"wrote {os.path.abspath(path)} (+ model card {path.with_suffix('.json').name})")


@cli.command("evaluate")
@click.option(
    "-m",
    "--models",
    default=f"linear,{DEFAULT_MODEL}",
    show_default=True,
    help="Comma-separated models; NAME@auto estimates the plate's camera curve.",
)
@click.option("--data", help="Folder of HDR images (default: $HDR_PLUGIN_DATA).")
@click.option(
    "--pipelines",
    default="srgb-2,srgb-8,gamma24,filmic,mobius,aces-view,aces1-view",
    show_default=True,
    help="Cameras: display (srgb-2, srgb-8, gamma24) and tone-mapped curve families the "
    "curve estimator never trained on (filmic, mobius, aces-view; aces1-view, named by its "
    "view in the ACES 1.3 config); deliveries (srgb-4, jpeg-85, h264-18, h265-22, "
    "prores-hq) on request.",
)
@click.option(
    "--no-peers",
    is_flag=True,
    help="Do not add libplacebo's inverse tone mapping (added when ffmpeg has it).",
)
@click.option(
    "--split",
    type=click.Choice(["test", "validation"]),
    default="test",
    show_default=True,
    help="Scene families scored: test (never used to choose anything) or validation.",
)
@click.option("--limit", type=int, help="Evaluate only the first N images of the split.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Save results.")
@click.pass_context
def evaluate_command(
    ctx: click.Context,
    models: str,
    data: str | None,
    pipelines: str,
    split: str,
    limit: int | None,
    json_path: str | None,
    no_peers: bool,
) -> None:
    """Score models on the test split: PU21-PSNR (whole, clipped), log-PSNR, PU21-SSIM."""
    import json

    from hdr_plugin.render import check_output_folder
    from hdr_plugin.train.evaluate import evaluate, format_table
    from hdr_plugin.train.trainer import data_folder

    if json_path:  # before the long work, not after it
        check_output_folder(json_path)
    results = evaluate(
        [m.strip() for m in models.split(",")],
        data=data_folder(data, what="evaluate --data"),
        color=ColorContext.resolve(ctx.obj["ocio"]),
        pipelines=[p.strip() for p in pipelines.split(",")],
        split=split,
        limit=limit,
        peers=not no_peers,
    )
    click.echo(format_table(results))
    if json_path:
        with atomic_write(json_path) as temporary:
            temporary.write_text(json.dumps(results, indent=2) + "\n")


@cli.command("batch")
@click.argument("shots_file", metavar="SHOTS.toml")
@click.option("--shots", help="Only these shots (comma-separated names).")
@click.option("-f", "--frames", help="Only these frames of each shot, e.g. 1001-1010.")
@click.option("--chunk", metavar="I/N", help="Only the I-th of N chunks of each shot (farm tasks).")
@click.option(
    "-w",
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Local processes.",
)
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="Run on this Dask scheduler.")
@click.option(
    "--local-cluster",
    type=click.IntRange(min=1),
    metavar="N",
    help="Run on a Dask LocalCluster of N.",
)
@click.option("--force", is_flag=True, help="Re-render frames whose outputs are complete.")
@click.option("--no-progress", is_flag=True)
@click.pass_context
def batch_command(
    ctx: click.Context,
    shots_file: str,
    shots: str | None,
    frames: str | None,
    chunk: str | None,
    workers: int,
    scheduler: str | None,
    local_cluster: int | None,
    force: bool,
    no_progress: bool,
) -> None:
    """Render every shot of SHOTS.toml with its own model; resumes where it stopped."""
    from hdr_plugin.batch import check_scheduler, execute, plan
    from hdr_plugin.shots import load_shots

    color = ColorContext.resolve(ctx.obj["ocio"])
    config = load_shots(shots_file, color)
    names = None
    if shots is not None:
        names = list(dict.fromkeys(s.strip() for s in shots.split(",") if s.strip()))
        if not names:
            raise ConfigError(f"--shots {shots!r} names no shot; leave it out for every shot")
    if scheduler is not None:
        check_scheduler(scheduler)
    selected = config.select(names)
    tasks = plan(
        selected,
        frames=frames,
        chunk=chunk,
        ocio_config=color.config_path,
        max_pixels=ctx.obj["max_pixels"],
    )
    if not tasks and chunk is None:  # a farm's chunk of a short shot may be empty
        ranges = ", ".join(f"{s.name} {s.job.frames or 'all frames'}" for s in selected)
        raise ConfigError(
            f"{shots_file}: --frames {frames} lies outside every selected shot ({ranges})"
            if frames
            else f"{shots_file}: the selected shots have no frame to render ({ranges})"
        )
    start = time.perf_counter()
    results = execute(
        tasks,
        workers=workers,
        scheduler=scheduler,
        local_cluster=local_cluster,
        force=force,
        progress=not no_progress,
    )
    elapsed = time.perf_counter() - start
    failed = [r for r in results if r.error]
    rendered = sum(1 for r in results if r.output and not r.skipped)
    skipped = sum(1 for r in results if r.skipped)
    for result in failed:
        click.echo(f"hdr-plugin: failed: {result.error}", err=True)
    rate = 60 * rendered / elapsed if elapsed and rendered else 0.0
    click.echo(
        f"{len(selected)} shots: {rendered} frames rendered, {skipped} already complete, "
        f"{len(failed)} failed in {elapsed:.1f} s ({rate:.0f} frames/min)"
    )
    if failed:
        raise HdrPluginError(
            f"{len(failed)} frame(s) failed after a retry; first: {failed[0].error}"
        )


@cli.command("import-otio")
@click.argument("timeline", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", "config_path", required=True, help="Shot config to write.")
@click.option(
    "--render-pattern",
    default="renders/{shot}/{shot}.####.exr",
    show_default=True,
    help="Output pattern of every shot ({shot} = clip name).",
)
@click.option("-m", "--model", help="Model for every shot (default: the default model).")
def import_otio_command(
    timeline: str, config_path: str, render_pattern: str, model: str | None
) -> None:
    """Write a shot config from the image-sequence clips of an OpenTimelineIO TIMELINE."""
    from hdr_plugin.shots import parse_shots, shot_missing_frames, shots_from_otio

    check_not_an_input([config_path], [timeline], flag="-o")
    text = shots_from_otio(timeline, output=render_pattern, model=model)
    try:
        config = parse_shots(text, config_path)
    except HdrPluginError as exc:  # what the timeline holds, not a file of the user's
        raise type(exc)(f"{timeline}: {str(exc).removeprefix(f'{config_path}: ')}") from exc
    for shot in config.shots:
        missing = shot_missing_frames(shot)
        if missing:
            click.echo(f"hdr-plugin: warning: shot {shot.name}: {missing}", err=True)
    with atomic_write(config_path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    click.echo(f"wrote {config_path} with {len(config.shots)} shots")


@cli.command("publish")
@click.argument("shots_file", metavar="SHOTS.toml")
@click.option("--publish-root", required=True, help="Folder receiving <shot>/v###/.")
@click.option("--shots", help="Only these shots (comma-separated names).")
@click.option("-w", "--workers", type=int, default=1, show_default=True)
@click.pass_context
def publish_command(
    ctx: click.Context, shots_file: str, publish_root: str, shots: str | None, workers: int
) -> None:
    """Validate, render and publish SHOTS.toml through pyblish (validation failures stop it)."""
    from hdr_plugin.publish import publish

    context = publish(
        shots_file,
        publish_root,
        ocio_config=ctx.obj["ocio"],
        shots=[s.strip() for s in shots.split(",")] if shots else None,
        workers=workers,
    )
    for instance in context:
        version, folder = instance.data["version"], instance.data["publishDir"]
        click.echo(f"published {instance.name} v{version:03d}: {folder}")


@cli.command("view")
@click.argument("path")
@click.option(
    "-m", "--model", help=f"Model (default: the shot's, else {DEFAULT_MODEL}); overrides the shot."
)
@click.option("--shot", help="Shot to open from a shot config (default: the first).")
@click.option("--compare", metavar="MODEL", help="Show MODEL's reconstruction as side A (A/B).")
@click.option(
    "--input-colorspace",
    help="OCIO colourspace of the plate (default: the file's tag, else sRGB); auto estimates "
    "the camera curve; overrides the shot.",
)
@click.option(
    "--input-view",
    metavar="DISPLAY/VIEW",
    help="OCIO view the plate was rendered through; overrides the shot.",
)
@click.option("--frame", "frame_number", type=int, help="Frame number shown (default: the first).")
@click.option(
    "--wipe",
    type=click.FloatRange(0.0, 1.0),
    default=0.5,
    show_default=True,
    help="A/B split: 0 = all reconstruction (B), 1 = all plate (A).",
)
@click.option(
    "--exposure",
    type=click.FloatRange(-32.0, 32.0),
    callback=lambda _ctx, _param, value: _finite(value),
    default=0.0,
    show_default=True,
    help="Stops, before the view (-32 to 32).",
)
@click.option("--display", help="OCIO display (default: the config's default display).")
@click.option("--view", "view_name", help="OCIO view (default: the display's default view).")
@click.option(
    "--plate-in-view", is_flag=True, help="Show the plate through the view, not as delivered."
)
@click.option("--mask-overlay", is_flag=True, help="Start with the highlight-mask overlay on.")
@click.option(
    "--screenshot",
    type=click.Path(dir_okay=False),
    help="Write a review still (labels, the frame at its resolution, the scope) and exit.",
)
@click.option(
    "--contact-sheet",
    type=click.Path(dir_okay=False),
    help="Write a labelled contact sheet of the plate's frames (PNG) and exit.",
)
@click.option(
    "--every",
    type=click.IntRange(min=1),
    help="Contact sheet: every Nth frame (default: at most 12 frames).",
)
@click.pass_context
def view_command(
    ctx: click.Context,
    path: str,
    model: str | None,
    shot: str | None,
    compare: str | None,
    input_colorspace: str | None,
    input_view: str | None,
    frame_number: int | None,
    wipe: float,
    exposure: float,
    display: str | None,
    view_name: str | None,
    plate_in_view: bool,
    mask_overlay: bool,
    screenshot: str | None,
    contact_sheet: str | None,
    every: int | None,
) -> None:
    """Open a plate, a sequence (plate.####.png) or a shot config (.toml) in the viewer.

    With --screenshot or --contact-sheet nothing is shown: the images are written and the
    command exits (no display needed).
    """
    stills = [p for p in (screenshot, contact_sheet) if p]
    if stills:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    elif sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("QT_QPA_PLATFORM")
    ):
        raise ConfigError(
            "no display to open the viewer on (DISPLAY is not set); "
            "write a still with --screenshot OUT.png or a --contact-sheet OUT.png"
        )
    try:
        from PySide6 import QtCore, QtWidgets
    except ImportError:
        raise ConfigError("the viewer needs: pip install 'hdr-plugin[ui]'") from None
    from hdr_plugin.ui.controller import ViewerController
    from hdr_plugin.ui.viewer_state import ViewerState
    from hdr_plugin.ui.widgets import ViewerWindow, review_still
    from hdr_plugin.ui.widgets import contact_sheet as draw_sheet

    color = ColorContext.resolve(ctx.obj["ocio"])
    state = ViewerState(display=display, view=view_name).for_config(color)
    display, view_name = color.display_view(
        f"{state.display}/{state.view}", knob="--display/--view"
    )
    state = ViewerState(wipe=wipe, exposure=exposure, plate_in_view=plate_in_view)
    state = state.replace(display=display, view=view_name, show_mask=mask_overlay)
    if path.endswith(".toml"):
        overrides = {"model": model} if model else {}
        if input_colorspace or input_view:
            overrides |= {"input_colorspace": input_colorspace, "input_view": input_view}
        controller = ViewerController.for_shot(
            path, shot, color, overrides=overrides, compare=compare
        )
    else:
        settings = ReconstructSettings(
            model=model or DEFAULT_MODEL,
            input_colorspace=input_colorspace,
            input_view=input_view,
        )
        controller = ViewerController(path, settings, color, compare=compare)
    inputs = _viewer_inputs(path, color)
    for flag, still in (("--screenshot", screenshot), ("--contact-sheet", contact_sheet)):
        if still:
            check_not_an_input([still], inputs, flag=flag)
            if not still.lower().endswith(".png"):
                raise ConfigError(f"{flag} {still}: a still is written as PNG; name it .png")
    index = 0 if frame_number is None else controller.frame_index(frame_number)
    QtCore.qInstallMessageHandler(_qt_message)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    if screenshot:
        frame = controller.frame(index)  # errors (a corrupt plate) end the command here
        _save_png(review_still(controller, frame, state), screenshot)
        click.echo(f"wrote {os.path.abspath(screenshot)}")
    if contact_sheet:
        count = len(controller.files)
        step = every or -(-count // 12)
        _save_png(draw_sheet(controller, list(range(0, count, step)), state), contact_sheet)
        click.echo(f"wrote {os.path.abspath(contact_sheet)}")
    if stills:
        return
    window = ViewerWindow(controller, state)
    window.mask_overlay.setChecked(mask_overlay)
    window.frame_slider.setValue(index)
    window.resize(1280, 800)
    window.show()
    app.exec()


def _viewer_inputs(path: str, color: ColorContext) -> list[str]:
    """Every file the viewer reads or could, whatever frames it shows.

    The plate's whole sequence on disk; for a shot config, the config itself and every
    shot's plates, mattes and LUT.
    """
    from hdr_plugin.sequence import sequence_files

    if not path.endswith(".toml"):
        return sequence_files(path)
    from hdr_plugin.shots import load_shots

    files = [path]
    for shot in load_shots(path, color).shots:
        files += sequence_files(shot.job.input)
        files += sequence_files(shot.settings.matte) if shot.settings.matte else []
        files += [shot.settings.input_lut] if shot.settings.input_lut else []
    return files


#: Qt messages of the offscreen platform that say nothing to a user.
_QT_NOISE = ("propagateSizeHints", "QStandardPaths: XDG_RUNTIME_DIR")


def _qt_message(_kind, _context, message: str) -> None:
    """Qt's messages, minus the offscreen platform's noise, on stderr."""
    if not any(noise in message for noise in _QT_NOISE):
        click.echo(f"Qt: {message}", err=True)


def _save_png(image, path: str) -> None:
    with atomic_write(path, suffix=".png") as temporary:
        if not image.save(str(temporary), "PNG"):
            raise OutputError(f"{path}: cannot write the PNG")


@cli.command("install-krita")
@click.option(
    "--resources",
    type=click.Path(file_okay=False),
    help="Krita's resource folder (default: this platform's, e.g. ~/.local/share/krita).",
)
@click.option(
    "--kritarc",
    type=click.Path(dir_okay=False),
    help="Krita's settings file to enable the plugin in (default: this platform's).",
)
def install_krita_command(resources: str | None, kritarc: str | None) -> None:
    """Install the HDR Reconstruct plugin into Krita, running this environment's hdr_plugin."""
    from hdr_plugin.host_adapters.krita.install import install_krita

    installed = install_krita(
        Path(resources) if resources else None, Path(kritarc) if kritarc else None
    )
    click.echo(f"installed {installed.package} (+ {installed.desktop.name})")
    if installed.kritarc is not None:
        click.echo(
            f"enabled in {installed.kritarc}; restart Krita, then Tools > Scripts > "
            "HDR Reconstruct..."
        )
    from hdr_plugin.host_adapters.bootstrap import active_virtualenv

    if active_virtualenv() and os.environ.get("VIRTUAL_ENV"):
        click.echo(
            "start Krita from a shell without this venv active (`deactivate` first): "
            "Krita's Python would take the venv's prefix and lose its PyQt5"
        )


@cli.command("install-blender")
@click.option(
    "--scripts",
    type=click.Path(file_okay=False),
    help="Blender's user scripts folder (default: $BLENDER_USER_SCRIPTS, else the newest "
    "Blender's, e.g. ~/.config/blender/4.2/scripts).",
)
@click.option(
    "--blender",
    metavar="EXE",
    help="A Blender (or a Python with bpy) to enable the add-on in and save its preferences.",
)
def install_blender_command(scripts: str | None, blender: str | None) -> None:
    """Install the HDR Reconstruct add-on into Blender, running this environment's hdr_plugin."""
    from hdr_plugin.host_adapters.blender.install import install_blender

    installed = install_blender(Path(scripts) if scripts else None, blender=blender)
    click.echo(f"installed {installed.package}")
    if installed.enabled_by is not None:
        click.echo(f"enabled by {installed.enabled_by}; the Compositor's sidebar has an HDR tab")
    else:
        click.echo(
            "enable it in Blender: Edit > Preferences > Add-ons > HDR Reconstruct "
            "(or pass --blender EXE)"
        )


@cli.command("models")
def models_command() -> None:
    """List the registered models, their options and whether they can render."""
    for spec in list_models():
        status = "ready" if has_weights(spec) else "NO WEIGHTS (will not render)"
        default = " (default)" if spec.name == DEFAULT_MODEL else ""
        click.echo(f"{spec.name:<16} {spec.kind:<8} {status:<28} {spec.description}{default}")
        for param in spec.parameters:
            click.echo(f"{'':<20}-O {param.name}={param.default}  {param.description}")


@cli.command("colorspaces")
@click.pass_context
def colorspaces_command(ctx: click.Context) -> None:
    """List the colourspaces of the active OCIO config."""
    color = ColorContext.resolve(ctx.obj["ocio"])
    click.echo(f"# OCIO config: {color.config_path}")
    for name in color.colorspaces():
        aliases = color.config.getColorSpace(name).getAliases()
        click.echo(f"{name}" + (f"  (aliases: {', '.join(aliases)})" if aliases else ""))


def _show_warning(message, category, *_args, **_kwargs) -> None:
    """The project's warnings as one line each (``hdr-plugin: warning: ...``)."""
    if issubclass(category, PlateWarning):
        click.echo(f"hdr-plugin: warning: {' '.join(str(message).split())}", err=True)
    else:
        click.echo(warnings.formatwarning(message, category, *_args[:2]), err=True, nl=False)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and map project errors to one line and exit status 1.

    Callable in any process; ``hdr_plugin.__main__`` is the entry point of a process of
    its own.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", PlateWarning)
            warnings.showwarning = _show_warning
            cli.main(args=argv, prog_name="hdr-plugin", standalone_mode=False)
    except HdrPluginError as exc:
        message = " ".join(str(exc).split())
        click.echo(f"hdr-plugin: error: {message}", err=True)
        return 1
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("hdr-plugin: interrupted", err=True)
        return 130
    return 0
