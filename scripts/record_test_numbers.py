"""Write test-split numbers from ``hdr-plugin evaluate --json`` into the model cards.

    hdr-plugin evaluate --data DATA -m ... --json test.json
    python scripts/record_test_numbers.py test.json

Each shipped model's card gets ``test``: per camera pipeline, its metrics and those of
``linear`` (and of the libplacebo peer, when measured) on the same views. Cameras of an
earlier run that this one did not score are kept (the weights file, and so its hash, is
unchanged). Names that are not registered models (the peer) get no card.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hdr_plugin.models import BUNDLED_WEIGHTS, get_spec, list_models, read_card, write_card


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    for name, per_pipeline in results.items():
        model, _, variant = name.partition("@")
        if model not in {spec.name for spec in list_models()}:
            continue
        spec = get_spec(model)
        if spec.weights is None:
            continue
        weights = BUNDLED_WEIGHTS / spec.weights
        card = read_card(weights)
        test = card.setdefault("test", {})
        test.pop("pending", None)
        entry = test.setdefault(variant or "named colourspace", {})
        entry["split"] = (
            "test (scene families and held-out curve families never used to train or choose)"
        )
        for key, values in (
            ("results", per_pipeline),
            ("linear", results.get("linear", {})),
            ("libplacebo", results.get("libplacebo", {})),
        ):
            if values:
                entry.setdefault(key, {}).update(values)
        write_card(weights, card)
        print(f"recorded test numbers of {name} in the card of {weights.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
