#!/usr/bin/env bash
# Builds pansweep, scans a realistic sample tree to `--format html` in English and
# Japanese, and screenshots both reports with headless Chromium:
#   docs/report-sample.png, docs/report-sample-ja.png
#
# The tree holds only public test PANs and numbers generated here at run time (Luhn-valid,
# random, never written outside a temporary directory that is removed on exit); the
# reports show them masked. Needs Chromium: scripts/install-test-deps.sh.
#
# Usage: scripts/sample-report.sh [OUTDIR]   (default: docs)
set -euo pipefail
cd "$(dirname "$0")/.."
outdir="${1:-docs}"
chrome="${PANSWEEP_CHROMIUM:-/usr/bin/chromium}"
[ -x "$chrome" ] || { echo "sample-report: $chrome not found; run scripts/install-test-deps.sh" >&2; exit 1; }

cargo build --locked --quiet
bin="$(realpath "${CARGO_TARGET_DIR:-target}/debug/pansweep")"

work="$(mktemp -d /tmp/pansweep-sample.XXXXXX)"
trap 'rm -rf "$work"' EXIT
tree="$work/srv"
mkdir -p "$tree"

# A Luhn-valid number of LEN digits starting with PREFIX, the rest random.
gen() {
    local prefix=$1 len=$2 body sum=0 i d
    body=$prefix
    while [ ${#body} -lt $((len - 1)) ]; do body+=$((RANDOM % 10)); done
    for ((i = 0; i < ${#body}; i++)); do
        d=${body:$((${#body} - 1 - i)):1}
        if ((i % 2 == 0)); then d=$((d * 2)); ((d > 9)) && d=$((d - 9)); fi
        sum=$((sum + d))
    done
    printf '%s%s' "$body" $(((10 - sum % 10) % 10))
}

generated=()
new() { local p; p=$(gen "$1" "$2"); generated+=("$p"); printf '%s' "$p"; }

# A payment module that logged what it should not have.
mkdir -p "$tree/var/log/shop"
{
    for i in 1 2 3 4 5 6; do
        printf '2024-10-2%s 10:0%s:1%s INFO  payment ok order=%s card=%s exp=%02d/%s amount=%s\n' \
            "$i" "$i" "$i" "$((1000 + i))" "$(new 4 16)" "$((i + 3))" "2$((i + 4))" "$((i * 1280))"
    done
    printf '2024-10-27 11:12:13 DEBUG charge card number %s expiry 09/28 cvv %s\n' "$(new 5 16)" "$((RANDOM % 900 + 100))"
    printf '2024-10-27 11:12:14 INFO  request id 20241027111214000123 ok\n'
} > "$tree/var/log/shop/payment.log"

# An order export with card columns.
mkdir -p "$tree/home/ops/exports"
{
    echo "order_id,name,card_number,exp,cvv,amount"
    printf '2001,TARO YAMADA,%s,12/29,%s,5800\n' "$(new 3528 16)" "$((RANDOM % 900 + 100))"
    printf '2002,HANAKO SATO,%s,03/28,%s,12000\n' "$(new 53 16)" "$((RANDOM % 900 + 100))"
    printf '2003,JOHN SMITH,%s,07/27,%s,3400\n' "$(new 37 15)" "$((RANDOM % 9000 + 1000))"
    printf '2004,AKIRA TANAKA,%s,11/30,%s,980\n' "$(new 4 16)" "$((RANDOM % 900 + 100))"
} > "$tree/home/ops/exports/orders_2024.csv"

# A Japanese admin note (Shift_JIS when iconv is there).
printf 'カード番号: %s 有効期限 08/27 (電話注文)\n' "$(new 4 16)" > "$work/memo.txt"
if command -v iconv >/dev/null 2>&1; then
    iconv -f UTF-8 -t SHIFT_JIS "$work/memo.txt" > "$tree/home/ops/電話注文メモ.txt"
else
    cp "$work/memo.txt" "$tree/home/ops/電話注文メモ.txt"
fi

# An old site backup with an orders dump inside.
mkdir -p "$work/backup/db" "$tree/var/backups"
printf 'INSERT INTO orders (id, card_no, card_exp) VALUES (311, %s, %s);\n' "'$(new 4 16)'" "'2027-05'" > "$work/backup/db/orders.sql"
printf 'INSERT INTO orders (id, card_no, card_exp) VALUES (312, %s, %s);\n' "'$(new 6011 16)'" "'2026-01'" >> "$work/backup/db/orders.sql"
tar -C "$work/backup" -czf "$tree/var/backups/site-2023.tar.gz" db

# QA notes with public test PANs, and a masked number (reported apart, not card data).
mkdir -p "$tree/srv/app/docs"
cat > "$tree/srv/app/docs/qa-test-cards.md" <<'EOF'
Sandbox test cards: Visa 4111111111111111, Mastercard 5555555555554444,
Amex 378282246310005, JCB 3530111333300000. Receipt shows 411111******1111.
EOF
printf 'nothing to see here\n' > "$tree/srv/app/README.txt"

mkdir -p "$outdir"
for lang in en ja; do
    html="$work/report-$lang.html"
    rc=0
    (cd "$tree" && "$bin" --progress never --lang "$lang" scan -j 1 --format html -o "$html" .) || rc=$?
    [ "$rc" = 0 ] || [ "$rc" = 1 ] || { echo "sample-report: pansweep scan exited $rc" >&2; exit 1; }
    for p in "${generated[@]}"; do
        if grep -q "$p" "$html"; then echo "sample-report: a full generated number in the $lang report; stopping" >&2; exit 1; fi
    done
    png="$outdir/report-sample.png"
    [ "$lang" = en ] || png="$outdir/report-sample-$lang.png"
    "$chrome" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars \
        --user-data-dir="$work/profile-$lang" --virtual-time-budget=5000 \
        --screenshot="$png" --window-size=1280,2000 "file://$html" 2>/dev/null
    echo "sample-report: $png"
done
