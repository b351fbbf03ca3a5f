#!/usr/bin/env bash
# Resource limits (issue 9, part 3): builds each hostile input, scans it with the release
# binary under /usr/bin/time, and prints one Markdown table row per case: wall time, peak
# RSS, exit code, and what the report says (findings, skipped records and their reasons).
# The table in docs/reliability.md comes from this script.
#
#   bench/limits.sh [CASE...]     cases: sparse line dir deep loop zipbomb zipnest pdf
#
# Env: CORPUS_DIR (default bench/corpus, gitignored; inputs are built under
# $CORPUS_DIR/limits and the big ones removed afterwards), PANSWEEP (a binary to use
# instead of building target/release/pansweep). Planted numbers are public test PANs.
# Budgets (a run must finish or skip within them, RSS < 256 MiB): see BUDGET below.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPUS_DIR=${CORPUS_DIR:-$ROOT/bench/corpus}
W=$CORPUS_DIR/limits
mkdir -p "$W"
W=$(cd "$W" && pwd)
if [[ -z ${PANSWEEP:-} ]]; then
    (cd "$ROOT" && cargo build --release --locked -q)
    PANSWEEP=$ROOT/target/release/pansweep
fi
[[ -x /usr/bin/time ]] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }

CASES=("$@")
((${#CASES[@]})) || CASES=(sparse line dir deep loop zipbomb zipnest pdf)
declare -A BUDGET=([sparse]=60 [line]=30 [dir]=120 [deep]=60 [loop]=10 [zipbomb]=30 [zipnest]=10 [pdf]=60)
declare -A WHAT=(
    [sparse]="10 GiB sparse file, 2 cards (at 5 GiB and 4 KiB before the end)"
    [line]="1 GiB single line, no newline, 2 cards (middle, end)"
    [dir]="1,000,000 files in one directory (999,999 empty, 1 with a card)"
    [deep]="directories nested 10,000 deep, a card at depth 100 and at the bottom"
    [loop]="symlink loops (\`a/loop → a\`, \`a/up → ..\`, \`self → self\`) with \`--follow\`"
    [zipbomb]="zip, one member: 4 GiB of zeros deflated to 4 MiB"
    [zipnest]="zip in zip 12 levels deep, a card in the innermost"
    [pdf]="PDF with 1,000,000 objects and an xref table for all (53 MiB), a card on its page"
)
CARD=" card 4111 1111 1111 1111 exp 12/29 "

build() {
    case $1 in
        sparse)
            rm -rf "$W/sparse" && mkdir -p "$W/sparse"
            truncate -s 10G "$W/sparse/big.bin"
            for off in $((5 << 30)) $(((10 << 30) - 4096)); do
                printf '%s' "$CARD" | dd of="$W/sparse/big.bin" bs=1 seek="$off" conv=notrunc status=none
            done ;;
        line)
            rm -rf "$W/line" && mkdir -p "$W/line"
            head -c 1G /dev/zero | tr '\0' 'x' >"$W/line/one-line.txt"
            for off in $((512 << 20)) $(((1 << 30) - 100)); do
                printf '%s' "$CARD" | dd of="$W/line/one-line.txt" bs=1 seek="$off" conv=notrunc status=none
            done ;;
        dir)
            rm -rf "$W/dir" && mkdir -p "$W/dir/d"
            python3 - "$W/dir/d" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for i in range(1_000_000):
    os.close(os.open(f"f{i:07d}", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd))
with open(os.path.join(sys.argv[1], "f0500000"), "w") as f:
    f.write(" card 4111 1111 1111 1111 exp 12/29 \n")
PY
            ;;
        deep)
            rm -rf "$W/deep" && mkdir -p "$W/deep"
            python3 - "$W/deep" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for depth in range(1, 10_001):
    os.mkdir("d", dir_fd=fd)
    nfd = os.open("d", os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = nfd
    if depth in (100, 10_000):
        f = os.open("card.txt", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd)
        os.write(f, b" card 4111 1111 1111 1111 exp 12/29 \n")
        os.close(f)
PY
            ;;
        loop)
            rm -rf "$W/loop" && mkdir -p "$W/loop/a"
            ln -s ../a "$W/loop/a/loop"
            ln -s .. "$W/loop/a/up"
            ln -s self "$W/loop/self"
            printf '%s\n' "$CARD" >"$W/loop/a/card.txt" ;;
        zipbomb)
            rm -rf "$W/zipbomb" && mkdir -p "$W/zipbomb"
            python3 - "$W/zipbomb/bomb.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    with z.open("zeros.txt", "w", force_zip64=True) as f:
        block = bytes(64 << 20)
        for _ in range(64):
            f.write(block)
PY
            ;;
        zipnest)
            rm -rf "$W/zipnest" && mkdir -p "$W/zipnest"
            python3 - "$W/zipnest/nest.zip" <<'PY'
import io, sys, zipfile
data, name = b" card 4111 1111 1111 1111 exp 12/29 \n", "card.txt"
for level in range(12):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    data, name = b.getvalue(), f"level{level}.zip"
open(sys.argv[1], "wb").write(data)
PY
            ;;
        pdf)
            rm -rf "$W/pdf" && mkdir -p "$W/pdf"
            python3 - "$W/pdf/million.pdf" <<'PY'
import sys
N = 1_000_000
out = bytearray(b"%PDF-1.4\n")
offs = []
stream = b"BT /F1 12 Tf 72 720 Td ( card 4111 1111 1111 1111 exp 12/29 ) Tj ET"
fixed = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
    b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
]
for i in range(1, N + 1):
    offs.append(len(out))
    body = fixed[i - 1] if i <= len(fixed) else b"<< /N %d >>" % i
    out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (N + 1)
out += b"".join(b"%010d 00000 n \n" % o for o in offs)
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (N + 1, xref)
open(sys.argv[1], "wb").write(out)
PY
            ;;
    esac
}

flags() {
    case $1 in
        loop) echo "--follow" ;;
        *) echo "" ;;
    esac
}

echo "pansweep: $($PANSWEEP --version)"
echo
echo "| input | budget | wall | peak RSS | exit | report |"
echo "|---|---|---|---|---|---|"
for c in "${CASES[@]}"; do
    build "$c" >&2
    out=$W/$c.jsonl
    # shellcheck disable=SC2046
    # A hung case is killed at 3x its budget (exit 124) instead of stalling the script.
    rm -f "$out"
    timeout -s KILL $((BUDGET[$c] * 3)) /usr/bin/time -f '%e %M' -o "$W/$c.time" "$PANSWEEP" scan $(flags "$c") \
        --format jsonl --progress never -q -o "$out" "$W/$c" >/dev/null 2>"$W/$c.stderr" && rc=0 || rc=$?
    read -r wall rss_kib < <(tail -n 1 "$W/$c.time" 2>/dev/null || echo "- 0")
    report=$(python3 - "$out" 2>/dev/null <<'PY' || echo "no readable report ($(head -c 200 "$W/$c.stderr" | tr '\n' ' '))"
import collections, json, re, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
s = [r for r in recs if r.get("type") == "summary"]
n = sum(1 for r in recs if r.get("type") == "finding")
reasons = collections.Counter(re.sub(r"\d+", "N", r["reason"]) for r in recs if r.get("type") == "skipped")
skips = "; ".join(f"{k} ×{v}" if v > 1 else k for k, v in reasons.most_common(3))
comp = s[0].get("complete") if s else "no summary"
files = s[0].get("files") if s else "?"
print(f"{n} findings, {files} files, complete {str(comp).lower()}" + (f"; skipped: {skips}" if skips else ""))
PY
)
    rss_mib=$(((rss_kib + 1023) / 1024))
    verdict=ok
    if [[ $wall == - ]] || (($(printf '%.0f' "$wall") > ${BUDGET[$c]})) || ((rss_mib >= 256)); then verdict=OVER; fi
    echo "| ${WHAT[$c]} | ${BUDGET[$c]} s | ${wall} s | ${rss_mib} MiB | $rc | $report ($verdict) |"
    case $c in sparse | line | dir | deep | pdf | zipbomb) rm -rf "${W:?}/$c" ;; esac
done
