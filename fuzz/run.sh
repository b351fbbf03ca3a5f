#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each, two at a time (this machine
# has two cores; FUZZ_JOBS=N for another number), from the corpora in fuzz/corpus/. Used by .ci/run (30 s each) and for
# the long runs recorded in docs/reliability.md (600 s each).
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]
#
# New inputs the fuzzer keeps go to a scratch copy of the corpus, not to fuzz/corpus/
# (which stays small and reviewed: `cargo fuzz cmin` before adding to it). A crash is
# saved under fuzz/artifacts/TARGET/ and fails the script. Logs: fuzz/logs/TARGET.log
# (libFuzzer prints a crashing input there: fuzz inputs are generated, never real data).
#
# cargo-fuzz needs nightly rustc flags (-Zsanitizer): the nightly toolchain when it is
# installed, otherwise the default toolchain with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-30}"
if ! [[ $SECONDS_EACH =~ ^[0-9]+$ ]]; then
    echo "usage: bash fuzz/run.sh [SECONDS] [TARGET...]" >&2
    exit 2
fi
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    list=$(cargo fuzz list)
    mapfile -t TARGETS <<<"$list"
fi
if rustup run nightly rustc --version >/dev/null 2>&1; then
    FUZZ=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    FUZZ=(cargo fuzz)
fi
"${FUZZ[@]}" build -O >/dev/null
mkdir -p logs
# FUZZ_KEEP=DIR keeps what the runs find there (for `cargo fuzz cmin`).
if [ -n "${FUZZ_KEEP:-}" ]; then
    scratch=$FUZZ_KEEP
    mkdir -p "$scratch"
else
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
fi

run_one() {
    local t=$1
    mkdir -p "$scratch/$t"
    # -max_len 16 KiB: files over 4 KiB are split into pieces by the pipeline targets.
    # -detect_leaks=0: LeakSanitizer reports the thread-local state of the pipeline's
    # worker threads (crossbeam's per-thread context), which is freed at thread exit, not
    # per input; memory growth is bounded by -rss_limit_mb instead.
    if "${FUZZ[@]}" run -O "$t" "$scratch/$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_EACH" -max_len=16384 -timeout=60 -rss_limit_mb=4096 -detect_leaks=0 \
        -print_final_stats=1 >"logs/$t.log" 2>&1; then
        echo "ok   $t: $(grep -o 'stat::number_of_executed_units: [0-9]*' "logs/$t.log" | grep -o '[0-9]*$') runs"
    else
        echo "FAIL $t (see fuzz/logs/$t.log and fuzz/artifacts/$t/)"
        return 1
    fi
}

# FUZZ_JOBS targets at a time (default 2, one per core here).
jobs=${FUZZ_JOBS:-2}
failed=0
for ((i = 0; i < ${#TARGETS[@]}; i += jobs)); do
    pids=()
    for t in "${TARGETS[@]:i:jobs}"; do
        run_one "$t" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do
        wait "$p" || failed=1
    done
done
exit $failed
