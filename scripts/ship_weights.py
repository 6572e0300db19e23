"""Copy a finished training run's weights, model card and log into ``hdr_plugin/weights``.

    python scripts/ship_weights.py runs/highlight-unet highlight-unet

The log (mean loss terms per 100 steps, every validation) is rebuilt from the run's
checkpoint history when the run did not write one; the card names it. A run that
fine-tuned other weights (config ``init``) keeps their card's training record and log as
``started_from`` (the log as ``<model>.base.log``), so the card still tells the whole story.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from hdr_plugin.models import BUNDLED_WEIGHTS, get_spec, read_card, write_card
from hdr_plugin.train.trainer import training_log

#: What the card says instead of the training machine's data folder.
DATA = "DATA"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the run folder (config 'output')")
    parser.add_argument("model", help="registry name (camera-curve for auto's estimator)")
    args = parser.parse_args()
    spec = get_spec(args.model)
    weights = spec.weights
    source = args.run / weights
    card = read_card(source)
    if not card:
        raise SystemExit(f"{source}: no model card beside it; did the run finish?")
    log = source.with_suffix(".log")
    if not log.is_file():
        history = json.loads((args.run / "checkpoint.json").read_text())["history"]
        log.write_text(training_log(history))
    card["training"]["log"] = log.name
    command = card["training"]["command"]
    if command.startswith("-c "):  # run as `python -c "...main()" train ...`
        card["training"]["command"] = "hdr-plugin " + command[3:]
    program, _, rest = card["training"]["command"].partition(" ")
    if program.endswith("/hdr-plugin"):  # run from a venv's bin folder
        card["training"]["command"] = f"hdr-plugin {rest}"
    if spec.kind == "neural":
        card["input"] = f"{spec.input_encoding}, values in [0, 1]"
    # The card is committed: it names the data by its role, not by this machine's path.
    config = card["training"].get("config", {})
    if config.get("data"):
        card["training"]["command"] = card["training"]["command"].replace(config["data"], DATA)
        config["data"] = DATA
    target = BUNDLED_WEIGHTS / weights
    init = card["training"].get("config", {}).get("init")
    if init:
        card["training"]["started_from"] = _started_from(Path(init), target)
    shutil.copy2(source, target)
    shutil.copy2(log, target.with_suffix(".log"))
    write_card(target, card)
    print(f"shipped {target} ({target.stat().st_size / 1e6:.2f} MB) with its card and log")
    return 0


def _started_from(init: Path, target: Path) -> dict:
    """The training record of the weights a run started from; their log kept beside."""
    base = read_card(init)
    if not base:
        raise SystemExit(f"{init}: the run started from weights without a model card")
    training = dict(base["training"])
    log = init.with_suffix(".log")
    if log.is_file():
        kept = target.with_suffix(".base.log")
        if log.resolve() != kept.resolve():
            shutil.copy2(log, kept)
        training["log"] = kept.name
    return {"weights_hash": base.get("weights_hash"), "training": training}


if __name__ == "__main__":
    raise SystemExit(main())
