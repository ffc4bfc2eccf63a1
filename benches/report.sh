#!/usr/bin/env bash
# Runs the criterion benches for one crypto provider and prints each engine figure beside its
# raw baseline, the ratio, and the performance targets with PASS/FAIL.
#
#   benches/report.sh [ring|aws-lc] [--no-run] [--strict] [-- <criterion args>]
#
#   ring | aws-lc   the provider (default ring); aws-lc builds with `--features aws-lc`
#   --no-run        do not run the benches, only print the table from the last results
#   --strict        exit 1 when a target fails
#   -- ARGS         passed to criterion (e.g. `-- encrypt` to run one group)
#
# Results are criterion's mean point estimates, read from
# <criterion home>/<group>_<provider>/<id>/<param>/new/estimates.json (criterion home is
# $CRITERION_HOME, else <cargo target dir>/criterion). The group names carry the provider, so
# the two providers never overwrite each other's results.
#
# Measure on a quiet machine, one benchmark process at a time.
set -euo pipefail

help_lines=2,17
# shellcheck source=benches/report-common.sh
source "$(dirname "$0")/report-common.sh" "$@"

if ((run)); then
    cargo bench -p trent-benches --bench engine "${features[@]}" -- "${criterion_args[@]}" >&2
fi

python3 - "$criterion_home" "$provider_name" "$strict" <<'PY'
import json
import os
import sys

home, provider, strict = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
missing = []


def est(group, func, param):
    """(mean ns, relative half-width of the 95% CI of the mean) or None."""
    path = os.path.join(home, f"{group}_{provider}", func, str(param), "new", "estimates.json")
    try:
        with open(path) as f:
            mean = json.load(f)["mean"]
    except (OSError, KeyError, ValueError):
        if (name := f"{group}/{provider}/{func}/{param}") not in missing:
            missing.append(name)
        return None
    pe = mean["point_estimate"]
    ci = mean["confidence_interval"]
    return pe, (ci["upper_bound"] - ci["lower_bound"]) / 2 / pe


def t(e):
    """A time, with the CI half-width."""
    if e is None:
        return "—"
    ns, rel = e
    if ns >= 1e6:
        s = f"{ns / 1e6:.2f} ms"
    elif ns >= 1e3:
        s = f"{ns / 1e3:.2f} µs"
    else:
        s = f"{ns:.0f} ns"
    return f"{s} ±{rel * 100:.1f}%"


def bps(size, e):
    if e is None:
        return "—"
    v = size / (e[0] * 1e-9)
    return f"{v / 2**30:.2f} GiB/s" if v >= 2**30 else f"{v / 2**20:.0f} MiB/s"


def kps(n, e):
    if e is None:
        return "—"
    v = n / (e[0] * 1e-9)
    return f"{v / 1e6:.2f} M/s" if v >= 1e6 else f"{v / 1e3:.0f} k/s"


def ratio(num, den):
    return None if num is None or den is None else num[0] / den[0]


def pct(r):
    return "—" if r is None else f"{r * 100:.1f}%"


def x(r):
    return "—" if r is None else f"{r:.2f}×" if r >= 0.1 else f"{r:.3f}×"


def table(header, rows):
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    print()


def size_name(n):
    return f"{n // 1024} KiB" if n >= 1024 else f"{n} B"


print(f"# Trent benches, provider {provider} (criterion mean, ± = 95% CI half-width)\n")
sizes = [32, 1024, 4096]
results = {}
for op, raw_id in (("encrypt", "raw_seal"), ("decrypt", "raw_open")):
    rows = []
    for n in sizes:
        e, r = est(op, "engine", n), est(op, raw_id, n)
        results[(op, n)] = ratio(r, e)
        rows.append([size_name(n), t(e), bps(n, e), t(r), bps(n, r), pct(ratio(r, e)), x(ratio(e, r))])
    print(f"## {op} (engine vs {raw_id})\n")
    table(["size", "engine", "engine tput", raw_id, "raw tput", "engine/raw tput", "time ×raw"], rows)

e, r = est("generate_data_key", "engine", 32), est("generate_data_key", "raw_rng_seal", 32)
print("## generate_data_key (AES_256; engine vs raw = fill_random(32) + 32-byte seal)\n")
table(
    ["", "engine", "engine rate", "raw_rng_seal", "raw rate", "time ×raw"],
    [["1 key", t(e), kps(1, e), t(r), kps(1, r), x(ratio(e, r))]],
)
gdk_single = ratio(e, r)

print("## generate_data_keys (batches; rate in data keys/s, time per batch)\n")
print("engine_Nt: rayon pool of N threads, called from outside it (pool.install per batch);")
print("engine_Nt_in_pool: the caller itself on a pool thread; engine_serial: Execution::Serial, no pool;")
print("raw_loop: n x (fill_random(32) + seal), raw_bulk_rng: one fill_random(32 n) + n seals (one thread);")
print("raw_bulk_rng_2t_in_pool: the same split in halves over the two-thread pool (the machine's ceiling)\n")
funcs = (
    "engine_1t",
    "engine_2t",
    "engine_1t_in_pool",
    "engine_2t_in_pool",
    "engine_serial",
    "raw_loop",
    "raw_bulk_rng",
    "raw_bulk_rng_2t_in_pool",
)
ns = (1, 64, 1024)
g = {(f, n): est("generate_data_keys", f, n) for f in funcs for n in ns}
table(["id"] + [f"n={n}" for n in ns], [[f] + [f"{kps(n, g[f, n])} ({t(g[f, n])})" for n in ns] for f in funcs])
print("ratios (rate of a / rate of b):")
pairs = (
    ("engine_1t", "raw_loop"),
    ("engine_1t", "raw_bulk_rng"),
    ("engine_serial", "raw_bulk_rng"),
    ("engine_2t", "engine_1t"),
    ("engine_2t_in_pool", "engine_1t_in_pool"),
    ("engine_2t_in_pool", "engine_serial"),
    ("raw_bulk_rng_2t_in_pool", "raw_bulk_rng"),
    ("engine_2t_in_pool", "raw_bulk_rng_2t_in_pool"),
)
table(["a / b"] + [f"n={n}" for n in ns], [[f"{a} / {b}"] + [x(ratio(g[b, n], g[a, n])) for n in ns] for a, b in pairs])
# The targets judge the batch where it runs: on a pool of 1 or 2 threads, with the timing loop
# inside the pool (`engine_{1,2}t_in_pool`). `engine_{1,2}t` add the hand-off of every batch
# from a thread outside the pool (waking an idle worker), shown as information.
batch = {n: (g["engine_1t_in_pool", n], g["engine_2t_in_pool", n], g["engine_serial", n]) for n in ns}
handoff = {n: (g["engine_1t", n], g["engine_2t", n]) for n in ns}

print("## targets\n")
targets = []


def target(name, value, shown, ok):
    verdict = "MISSING" if value is None else ("PASS" if ok(value) else "FAIL")
    targets.append(verdict)
    return [name, shown, verdict]


e1, e2, es = batch[1024]
one_thread_rate = None if e1 is None else 1024 / (e1[0] * 1e-9)
serial_rate = None if es is None else 1024 / (es[0] * 1e-9)
scaling = ratio(e1, e2)
rows = [
    target("Encrypt 4 KiB ≥ 85% of raw throughput", results[("encrypt", 4096)], pct(results[("encrypt", 4096)]), lambda v: v >= 0.85),
    target("Decrypt 4 KiB ≥ 85% of raw throughput", results[("decrypt", 4096)], pct(results[("decrypt", 4096)]), lambda v: v >= 0.85),
    target("GenerateDataKey (single) ≤ 2× raw time", gdk_single, x(gdk_single), lambda v: v <= 2.0),
    target(
        "GenerateDataKeys n=1024, 1 thread (in pool) ≥ 3.0 M keys/s",
        one_thread_rate,
        "—" if one_thread_rate is None else f"{one_thread_rate / 1e6:.2f} M/s",
        lambda v: v >= 3e6,
    ),
    target("GenerateDataKeys n=1024, 2 threads ≥ 1.8× 1 thread (in pool)", scaling, x(scaling), lambda v: v >= 1.8),
]
h1, h2 = handoff[1024]
table(["target", "measured", "result"], rows)
if serial_rate is not None:
    print(f"(info: n=1024 serially on the calling thread, no pool: {serial_rate / 1e6:.2f} M keys/s)")
if h1 is not None and h2 is not None:
    print(
        f"(info: n=1024 handed to the pool from outside: 1 thread {1024 / (h1[0] * 1e-9) / 1e6:.2f} M keys/s, "
        f"2 threads {1024 / (h2[0] * 1e-9) / 1e6:.2f} M keys/s, {x(ratio(h1, h2))})"
    )
raw1, raw2 = g["raw_bulk_rng", 1024], g["raw_bulk_rng_2t_in_pool", 1024]
if raw1 is not None and raw2 is not None:
    print(f"(info: the raw batch itself on 2 threads vs 1, n=1024: {x(ratio(raw1, raw2))}: the ceiling for the scaling target here)")
print(f"{targets.count('PASS')} PASS, {targets.count('FAIL')} FAIL, {targets.count('MISSING')} MISSING")
if missing:
    print(f"\nmissing results ({len(missing)}), run the benches first: " + ", ".join(missing), file=sys.stderr)
sys.exit(1 if strict and ("FAIL" in targets or "MISSING" in targets) else 0)
PY
