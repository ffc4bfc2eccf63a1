#!/usr/bin/env bash
# Runs the keystore benches (benches/benches/store.rs) for one crypto provider beside a
# throwaway PostgreSQL server, and prints the figures with their ratios to the in-memory engine
# and the targets with PASS/FAIL.
#
#   benches/report-store.sh [ring|aws-lc] [--no-run] [--strict] [-- <criterion args>]
#
#   ring | aws-lc   the provider (default ring)
#   --no-run        only print the tables from the last results
#   --strict        exit 1 when a target fails
#   -- ARGS         passed to criterion (e.g. `-- encrypt_store` to run one group)
#
# Results are criterion's mean point estimates under <cargo target dir>/criterion (or
# $CRITERION_HOME). Measure on a quiet machine, one benchmark process at a time.
set -euo pipefail

help_lines=2,14
# shellcheck source=benches/report-common.sh
source "$(dirname "$0")/report-common.sh" "$@"

if ((run)); then
    scripts/with-postgres -- cargo bench -p trent-benches --bench store "${features[@]}" -- "${criterion_args[@]}" >&2
fi

python3 - "$criterion_home" "$provider_name" "$strict" <<'PY'
import json
import os
import sys

home, provider, strict = sys.argv[1], sys.argv[2], sys.argv[3] == "1"


def est(group, func, param):
    parts = [home, f"{group}_{provider}", func] + ([] if param is None else [str(param)])
    path = os.path.join(*parts, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["mean"]["point_estimate"]
    except OSError:
        return None


def t(ns):
    if ns is None:
        return "—"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.2f} {unit}"
    return f"{ns:.0f} ns"


def rate(ns):
    return "—" if ns is None else f"{1e9 / ns:,.0f}/s"


def table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    print()


print(f"# keystore benches, provider {provider}\n")
print("## Encrypt 4 KiB by store (throughput relative to the in-memory engine)\n")
mem = est("encrypt_store", "memory", 4096)
rows, ratios = [], {}
for name in ("memory", "sqlite", "postgres", "memory_audit_file", "memory_audit_null"):
    ns = est("encrypt_store", name, 4096)
    ratios[name] = None if ns is None or mem is None else mem / ns
    rows.append([name, t(ns), rate(ns), "—" if ratios[name] is None else f"{ratios[name]:.1%}"])
table(["engine", "time", "rate", "vs memory"], rows)

print("memory_audit_file: with KmsBuilder::audit_file; memory_audit_null: the same events sent to a writer")
print("that drops them (the hot path's own share of auditing)\n")
print("## Durable operations\n")
writer = est("audit_writer", "jsonl_1024_events_no_fsync", None)
print("## Audit file writer alone\n")
print(f"one event appended (serialized, hashed into the chain, written; no fsync): {t(None if writer is None else writer / 1024)}\n")
rows = []
for op in ("create_key", "rotate_key_on_demand", "open_10000_keys"):
    for store in ("sqlite", "postgres"):
        ns = est("store_ops", op, store)
        rows.append([op, store, t(ns), rate(ns) if op != "open_10000_keys" else "—"])
table(["operation", "store", "time", "rate"], rows)

print("## targets\n")
verdicts = []


def target(name, value, ok):
    verdict = "MISSING" if value is None else ("PASS" if ok(value) else "FAIL")
    verdicts.append(verdict)
    return [name, "—" if value is None else f"{value:.1%}", verdict]


table(
    ["target", "measured", "result"],
    [
        target("Encrypt 4 KiB on SQLite ≥ 95% of in-memory", ratios["sqlite"], lambda v: v >= 0.95),
        target("Encrypt 4 KiB on PostgreSQL ≥ 95% of in-memory", ratios["postgres"], lambda v: v >= 0.95),
        target("Encrypt 4 KiB with the audit file ≥ 90% of without", ratios["memory_audit_file"], lambda v: v >= 0.90),
    ],
)
print(f"{verdicts.count('PASS')} PASS, {verdicts.count('FAIL')} FAIL, {verdicts.count('MISSING')} MISSING")
sys.exit(1 if strict and ("FAIL" in verdicts or "MISSING" in verdicts) else 0)
PY
