#!/usr/bin/env bash
# Incremental re-scans (issue 7, point 4): a nightly run with --state after a run that
# wrote it, on 100,000 files, against the first run, in the same session.
#
#   bench/incremental.sh          100,000 files of ~20 KiB (100 dirs, ~2 GiB)
#   NFILES=10000 bench/incremental.sh   a smaller tree
#
# Three timings per round: the first run (no state: every file read), the second run
# (nothing changed: every file only stat'ed), and a run after 1% of the files changed.
# Target: second run <= 10% of the first. The tree is in the page cache in all runs
# (the first run is then at its fastest, so the ratio is the least flattering one).
# Env: CORPUS_DIR (default bench/corpus), RUNS (rounds, default 3), PANSWEEP (binary).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPUS_DIR=${CORPUS_DIR:-$ROOT/bench/corpus}
NFILES=${NFILES:-100000}
RUNS=${RUNS:-3}
TREE=$CORPUS_DIR/incremental-$NFILES
WORK=$CORPUS_DIR/incremental-work
mkdir -p "$CORPUS_DIR" "$WORK"

if [ -z "${PANSWEEP:-}" ]; then
    (cd "$ROOT" && cargo build --release --locked -q)
    PANSWEEP=$ROOT/target/release/pansweep
fi

if [ ! -d "$TREE" ]; then
    echo "generating $NFILES files in $TREE"
    python3 - "$TREE" "$NFILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
def pan():
    d = [4, 5, 3, 2] + [random.randint(0, 9) for _ in range(11)]
    s = sum((v * 2 - 9 if v * 2 > 9 else v * 2) if i % 2 == 0 else v for i, v in enumerate(reversed(d)))
    return "".join(map(str, d + [(10 - s % 10) % 10]))
line = "2026-12-05T01:02:03Z 10.0.0.7 GET /api/v1/orders/status?id=48213 200 1532 \"Mozilla/5.0\"\n"
body = line * (20000 // len(line))
for i in range(n):
    d = os.path.join(root, f"d{i % 100:02}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"app-{i}.log"), "w") as f:
        f.write(body)
        if i % 500 == 0:
            f.write(f"payment card {pan()} exp 12/29\n")
PY
fi

head -c 32 /dev/urandom > "$WORK/key"
# Elapsed seconds and peak RSS (KiB) of a command; its exit code (1: findings) is ignored.
secs() { /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >/dev/null 2>&1 || true; tail -n 1 "$WORK/time"; }
printf "%-6s %10s %10s %10s %8s %8s %s\n" round first_s second_s changed_s ratio2 ratio3 peak_rss_kib
for r in $(seq 1 "$RUNS"); do
    rm -f "$WORK/state"
    read -r t1 m1 < <(secs "$PANSWEEP" scan --fingerprint-key "$WORK/key" --state "$WORK/state" -o "$WORK/r1.jsonl" "$TREE")
    read -r t2 m2 < <(secs "$PANSWEEP" scan --fingerprint-key "$WORK/key" --state "$WORK/state" -o "$WORK/r2.jsonl" "$TREE")
    # 1% of the files change (appended to: size, mtime and ctime move).
    { find "$TREE" -name 'app-*[05]7.log' || true; } | head -n $((NFILES / 100)) | while read -r f; do
        echo "GET /health 200" >> "$f"
    done || true
    read -r t3 m3 < <(secs "$PANSWEEP" scan --fingerprint-key "$WORK/key" --state "$WORK/state" -o "$WORK/r3.jsonl" "$TREE")
    n1=$(grep -c '"type":"finding"' "$WORK/r1.jsonl" || true)
    n2=$(grep -c '"type":"finding"' "$WORK/r2.jsonl" || true)
    [ "$n1" = "$n2" ] || { echo "findings differ: $n1 vs $n2" >&2; exit 1; }
    printf "%-6s %10s %10s %10s %8s %8s %s/%s/%s\n" "$r" "$t1" "$t2" "$t3" \
        "$(python3 -c "print(f'{$t2/$t1:.3f}')")" "$(python3 -c "print(f'{$t3/$t1:.3f}')")" "$m1" "$m2" "$m3"
done
echo "summary of the last second run:"; tail -1 "$WORK/r2.jsonl"
