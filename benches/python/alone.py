"""`Kms.encrypt` and `Kms.decrypt` of 4 KiB (and the client's) timed alone, builds of the binding
side by side.

    python3 benches/python/alone.py [--runs 8] [--time 0.3] NAME=PYTHON [NAME=PYTHON ...]

Each PYTHON is an interpreter whose environment has a build of `trent` installed (e.g. the
virtual environments of two checkouts). The builds take turns, one process each per run
(`--runs` runs), so a drift of the shared machine hits them alike; each process times every
figure in CPU time of its calling thread (`time.thread_time`, as bench.py does) and the table
shows the best of all runs, in ns per call, with each build's ratio to the first one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

#: The figures: name, and the call timed (`enc`, `dec`, `cenc`, `cdec`, `key`, `data`, `blob`,
#: `blob_ctx` and `ctx` are bound in the child).
FIGURES = [
    ("Kms.encrypt", "enc(key, data)"),
    ("Kms.encrypt, 1-pair context", "enc(key, data, ctx)"),
    ("Kms.decrypt", "dec(blob)"),
    ("Kms.decrypt, 1-pair context", "dec(blob_ctx, ctx)"),
    ("client.encrypt", "cenc(KeyId=key, Plaintext=data)"),
    ("client.decrypt", "cdec(CiphertextBlob=blob)"),
]


def child(seconds: float) -> None:
    """One process's figures, in ns per call, as JSON on stdout."""
    import time

    import trent

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench import best_rate

    kms = trent.Kms(allow_unlocked_memory=True)
    ctx = {"tenant": "acme"}
    env = {"enc": kms.encrypt, "dec": kms.decrypt, "key": kms.create_key("alone"), "data": os.urandom(4096), "ctx": ctx}
    client = trent.client("kms", kms=kms)
    env["cenc"], env["cdec"] = client.encrypt, client.decrypt
    env["blob"] = env["enc"](env["key"], env["data"])
    env["blob_ctx"] = env["enc"](env["key"], env["data"], ctx)
    out = {}
    for name, call in FIGURES:
        fn = eval(f"lambda: {call}", env)  # noqa: S307 - the calls above, nothing from outside
        out[name] = 1e9 / best_rate(fn, 1, 3, seconds, clock=time.thread_time)
    json.dump(out, sys.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--time", type=float, default=0.3, help="seconds per round of one figure")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("builds", nargs="*", metavar="NAME=PYTHON")
    args = ap.parse_args()
    if args.child:
        child(args.time)
        return
    builds = [b.split("=", 1) for b in args.builds]
    if not builds or any(len(b) != 2 for b in builds):
        ap.error("give one or more NAME=PYTHON")
    best = {name: {} for name, _ in builds}
    for _ in range(args.runs):
        for name, python in builds:
            cmd = [python, os.path.abspath(__file__), "--child", "--time", str(args.time)]
            # Outside any source tree, so `import trent` is the installed package.
            got = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, cwd="/").stdout)
            for fig, ns in got.items():
                best[name][fig] = min(ns, best[name].get(fig, ns))
    first = builds[0][0]
    print(f"best of {args.runs} alternating processes; load average {os.getloadavg()[0]:.2f} at the end")
    print("| 4 KiB | " + " | ".join(name for name, _ in builds) + " | " + " | ".join(f"{n} / {first}" for n, _ in builds[1:]) + " |")
    print("|---" * (2 * len(builds)) + "|")
    for fig, _ in FIGURES:
        ns = [best[name][fig] for name, _ in builds]
        cells = [f"{v:,.0f} ns" for v in ns] + [f"{v / ns[0]:.2f}×" for v in ns[1:]]
        print(f"| `{fig}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
