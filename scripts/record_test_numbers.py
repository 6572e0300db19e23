"""Write test-split numbers from ``hdr-plugin evaluate --json`` into the model cards.

    hdr-plugin evaluate --data DATA -m ... --json test.json
    python scripts/record_test_numbers.py test.json

Each shipped model's card gets ``test``: per camera pipeline, its metrics and those of
``linear`` on the same views (the weights file, and so its hash, is unchanged).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hdr_plugin.models import BUNDLED_WEIGHTS, get_spec, read_card, write_card


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    for name, per_pipeline in results.items():
        model, _, variant = name.partition("@")
        spec = get_spec(model)
        if spec.weights is None:
            continue
        weights = BUNDLED_WEIGHTS / spec.weights
        card = read_card(weights)
        test = card.setdefault("test", {})
        test.pop("pending", None)
        test[variant or "named colourspace"] = {
            "split": "test (scene families never used to train or choose)",
            "results": per_pipeline,
            "linear": results.get("linear", {}),
        }
        write_card(weights, card)
        print(f"recorded test numbers of {name} in the card of {weights.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
