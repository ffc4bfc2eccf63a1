#!/usr/bin/env python3
"""Writes cli/src/kms-model.json: the botocore KMS service model without its documentation.

    cli/tools/trim-model.py PATH/TO/kms-service-2.json > cli/src/kms-model.json

The CLI derives its subcommands, flags, required members and output timestamps from it.
"""
import json
import sys

DROP = {"documentation", "documentationUrl", "exception", "examples"}


def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in DROP}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


model = json.load(open(sys.argv[1]))
out = {
    "metadata": {k: model["metadata"][k] for k in ("apiVersion", "serviceId", "targetPrefix")},
    "operations": {n: {k: v for k, v in strip(o).items() if k in ("name", "input", "output", "errors")}
                   for n, o in model["operations"].items()},
    "shapes": strip(model["shapes"]),
}
# JSON objects carry no order once parsed; keep the members' order (the order AWS prints them).
for shape in out["shapes"].values():
    if "members" in shape:
        shape["memberOrder"] = list(shape["members"])
json.dump(out, sys.stdout, indent=1)
sys.stdout.write("\n")
