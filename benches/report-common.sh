# The command line and setup shared by benches/report.sh and benches/report-store.sh, sourced
# with the script's arguments after `set -euo pipefail`; `help_lines` (sed's range of the
# script's header comment) is what --help prints. Sets provider (ring | aws-lc),
# provider_name (the crate: ring | aws-lc-rs, as the bench groups are named), features (cargo's
# flags for it), run, strict, criterion_args (after `--`) and criterion_home (where criterion
# keeps its results), and leaves the shell at the repository's root.
# shellcheck shell=bash

provider=ring
run=1
strict=0
criterion_args=()
while (($#)); do
    case "$1" in
        ring | aws-lc) provider=$1 ;;
        --no-run) run=0 ;;
        --strict) strict=1 ;;
        --)
            shift
            criterion_args=("$@")
            break
            ;;
        -h | --help)
            sed -n "${help_lines}p" "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "$(basename "$0"): unknown argument '$1' (try --help)" >&2
            exit 2
            ;;
    esac
    shift
done

cd "$(dirname "$0")/.."
features=()
provider_name=ring
if [[ $provider == aws-lc ]]; then
    provider_name=aws-lc-rs
    features=(--features aws-lc)
fi

if [[ -n "${CRITERION_HOME:-}" ]]; then
    criterion_home=$CRITERION_HOME
else
    target_dir=$(cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    criterion_home=$target_dir/criterion
fi
