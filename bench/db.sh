#!/usr/bin/env bash
# `pansweep db` on a generated 1,000,000-row table on the local PostgreSQL and MariaDB, in
# the same hyperfine run as the engines' own dump tools (timings on a shared machine are
# noisy: only the ratios are meaningful), plus peak RSS. Target: pansweep >= 50% of the
# reference rate (psql COPY; mysqldump) with peak RSS < 256 MiB.
#
#   bench/db.sh               set up the tables if needed, then benchmark
#   bench/db.sh --setup-only  create and fill the tables, then exit
#   bench/db.sh --drop        drop schema pansweep_bench (PostgreSQL) and database
#                             pansweep_bench (MariaDB), then exit
#
# Env: PG_URL (default postgres://postgres@127.0.0.1:5432/test), MYSQL_URL (default
# mysql://root@127.0.0.1:3306/test), ENGINES (default "pg mysql"), ROWS (default 1000000),
# MASKED_PCT (rows with a masked card number, default 10), RUNS (hyperfine runs, default 3),
# PANSWEEP (a binary to use instead of building target/release/pansweep), CORPUS_DIR.
# Tables are reused when they hold ROWS rows made with the same settings. About 1 row in
# 10,000 holds a Luhn-valid 4532... number computed in SQL: never printed. Results
# (hyperfine JSON, /usr/bin/time logs, pansweep JSONL) go to $CORPUS_DIR/results.
set -euo pipefail

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }

MODE=bench
for arg in "$@"; do
    case "$arg" in
        --setup-only) MODE=setup ;;
        --drop) MODE=drop ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown option: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPUS_DIR=${CORPUS_DIR:-$ROOT/bench/corpus}
RESULTS=$CORPUS_DIR/results
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
MYSQL_URL=${MYSQL_URL:-mysql://root@127.0.0.1:3306/test}
ENGINES=${ENGINES:-pg mysql} ROWS=${ROWS:-1000000} MASKED_PCT=${MASKED_PCT:-10} RUNS=${RUNS:-3}
# Written as the table comment: a table made with other settings is rebuilt.
KEY="pansweep bench v1: rows=$ROWS masked_pct=$MASKED_PCT"

# --- tools ---------------------------------------------------------------------------
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
[[ -x /usr/bin/time ]] || need+=(time)
command -v python3 >/dev/null || need+=(python3)
command -v psql >/dev/null || need+=(postgresql-client)
command -v mysqldump >/dev/null || need+=(mariadb-client)
if ((${#need[@]})); then
    echo "installing: ${need[*]}"
    SUDO=; [[ $(id -u) -eq 0 ]] || SUDO=sudo
    $SUDO apt-get install -y "${need[@]}" >/dev/null
fi

# MYSQL_URL -> client options (the password, if any, through MYSQL_PWD, not argv) and
# MYSQL_URL_BENCH, the same server with database pansweep_bench.
mapfile -t my < <(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1])
print(p.hostname or "127.0.0.1", p.port or 3306, u.unquote(p.username or "root"),
      u.unquote(p.password or ""), u.urlunsplit(p._replace(path="/pansweep_bench")), sep="\n")' "$MYSQL_URL")
MY=(-h "${my[0]}" -P "${my[1]}" -u "${my[2]}")
[[ -z ${my[3]} ]] || export MYSQL_PWD=${my[3]}
MYSQL_URL_BENCH=${my[4]}

pg() { psql -X -q -v ON_ERROR_STOP=1 "$PG_URL" "$@"; }
my() { mysql "${MY[@]}" --batch --skip-column-names "$@"; }
has() { [[ " $ENGINES " == *" $1 "* ]]; }

if [[ $MODE == drop ]]; then
    ! has pg || pg -c 'SET client_min_messages = warning' -c 'DROP SCHEMA IF EXISTS pansweep_bench CASCADE'
    ! has mysql || my -e 'DROP DATABASE IF EXISTS pansweep_bench'
    echo "dropped the pansweep_bench schema / database ($ENGINES)"
    exit 0
fi

# --- data (SQL shared by both engines) -------------------------------------------------
# pick EXPR WORD...: CASE EXPR WHEN 0 THEN 'WORD0' WHEN 1 THEN 'WORD1' ... END
pick() {
    local s="CASE $1" i=0 w
    for w in "${@:2}"; do s+=" WHEN $i THEN '$w'" i=$((i + 1)); done
    echo "$s END"
}
# The Luhn check digit of COL, a 15-digit string. A digit d is POSITION(d IN '0123456789')
# - 1; the digits doubled (odd positions of a 15-digit body) use '0516273849', where d sits
# at index digitsum(2d). Plain SQL, so the same text runs on PostgreSQL and MariaDB.
luhn_digit() {
    local col=$1 sum="" p tbl
    for p in $(seq 1 15); do
        tbl=0123456789; ((p % 2 == 0)) || tbl=0516273849
        sum+="${sum:+ + }POSITION(SUBSTRING($col, $p, 1) IN '$tbl')"
    done
    echo "(10 - ($sum - 15) % 10) % 10"
}
FIRST=$(pick 'id % 8' Alice Bruno Chiara Daniel Emma Farid Grace Hiro)
LAST=$(pick 'id % 7' Schmidt Tanaka Okafor Rossi Nguyen Silva Kowalski)
NOTE=$(pick 'id % 5' 'standard shipping, leave the parcel at the front door if nobody answers' \
    'express delivery requested by phone, gift wrapping with a handwritten card' \
    'customer asked for an invoice with the company name and VAT number' \
    'pick up in store, reserved until the end of next week' 'partial refund issued after support ticket')
# Columns over a derived table s(id, body): body is NULL or 15 digits starting 4532,
# 1 id in 10,000 (7919 is prime to 10,000); 99999999977 is prime, so bodies differ.
COLS="id, CONCAT($FIRST, ' ', $LAST), CONCAT('user', id, '@example.', $(pick 'id % 3' com net org)),
  CASE WHEN body IS NOT NULL THEN CONCAT(body, $(luhn_digit body))
       WHEN (id * 37) % 100 < $MASKED_PCT THEN '411111******1111' END"
PLANT="CASE WHEN (id * 7919) % 10000 = 4321 THEN CONCAT('4532', LPAD(NUM, 11, '0')) END"
BODY_NUM="(id * 3360651091) % 99999999977"
DDL="id bigint PRIMARY KEY, customer text, email text, card_no varchar(19), expire varchar(5),
  amount numeric(10,2), note text"
COUNTS="SELECT COUNT(*), COUNT(CASE WHEN card_no LIKE '4532%' THEN 1 END),
  COUNT(CASE WHEN card_no LIKE '%*%' THEN 1 END)"

setup_pg() {
    local t0=$SECONDS
    if [[ $(pg -Atc "SELECT obj_description(c.oid, 'pg_class') FROM pg_class c JOIN pg_namespace n
            ON n.oid = c.relnamespace WHERE n.nspname = 'pansweep_bench' AND c.relname = 'orders'") == "$KEY" ]] &&
        [[ $(pg -Atc 'SELECT COUNT(*) FROM pansweep_bench.orders') == "$ROWS" ]]; then
        return
    fi
    echo "PostgreSQL: filling pansweep_bench.orders with $ROWS rows"
    # One transaction; the comment (the reuse key) is part of it.
    pg -1 -f - <<SQL
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS pansweep_bench;
DROP TABLE IF EXISTS pansweep_bench.orders;
CREATE TABLE pansweep_bench.orders ($DDL, created_at timestamptz);
INSERT INTO pansweep_bench.orders
SELECT $COLS,
  CONCAT(LPAD(CAST(1 + id % 12 AS text), 2, '0'), '/', 25 + id % 6),
  ((id * 7907) % 100000) / 100.0,
  CONCAT('Order ', id, ': ', $NOTE),
  TIMESTAMPTZ '2024-01-01 00:00:00+00' + id * INTERVAL '17 seconds'
FROM (SELECT id, ${PLANT/NUM/CAST($BODY_NUM AS text)} AS body
      FROM generate_series(CAST(1 AS bigint), $ROWS) AS id) s;
COMMENT ON TABLE pansweep_bench.orders IS '$KEY';
SQL
    # Outside the transaction: hint bits and visibility map set now, not by the first scan.
    pg -c 'VACUUM (ANALYZE) pansweep_bench.orders'
    echo "  done in $((SECONDS - t0)) s"
}

setup_mysql() {
    local t0=$SECONDS
    if [[ $(my -e "SELECT TABLE_COMMENT FROM information_schema.TABLES
            WHERE TABLE_SCHEMA = 'pansweep_bench' AND TABLE_NAME = 'orders'") == "$KEY" ]] &&
        [[ $(my -e 'SELECT COUNT(*) FROM pansweep_bench.orders') == "$ROWS" ]]; then
        return
    fi
    echo "MariaDB: filling pansweep_bench.orders with $ROWS rows"
    # 1..ROWS: the SEQUENCE engine's virtual table, else a cross join of 0..9 per digit.
    local seq="SELECT seq AS id FROM seq_1_to_$ROWS" sum=1 from="(SELECT 1) one" m k=0
    if ! [[ $(my -e "SELECT SUPPORT FROM information_schema.ENGINES WHERE ENGINE = 'SEQUENCE'") =~ YES|DEFAULT ]]; then
        for ((m = 1; m < ROWS; m *= 10, k++)); do
            sum+=" + $m * d$k.d" from+=", (SELECT 0 d UNION ALL $(printf 'SELECT %d UNION ALL ' 1 2 3 4 5 6 7 8) SELECT 9) d$k"
        done
        seq="SELECT * FROM (SELECT $sum AS id FROM $from) n WHERE id <= $ROWS"
    fi
    # The comment goes last: the table is reused only when the fill completed.
    my >/dev/null <<SQL
CREATE DATABASE IF NOT EXISTS pansweep_bench;
USE pansweep_bench;
DROP TABLE IF EXISTS pansweep_bench.orders;
CREATE TABLE pansweep_bench.orders ($DDL, created_at timestamp NULL DEFAULT NULL) ENGINE = InnoDB;
INSERT INTO pansweep_bench.orders
SELECT $COLS,
  CONCAT(LPAD(1 + id % 12, 2, '0'), '/', 25 + id % 6),
  ((id * 7907) % 100000) / 100.0,
  CONCAT('Order ', id, ': ', $NOTE),
  TIMESTAMPADD(SECOND, id * 17, '2024-01-01 00:00:00')
FROM (SELECT id, ${PLANT/NUM/$BODY_NUM} AS body FROM ($seq) q) s
ORDER BY id;
ALTER TABLE pansweep_bench.orders COMMENT = '$KEY';
ANALYZE TABLE pansweep_bench.orders;
SQL
    echo "  done in $((SECONDS - t0)) s"
}

COPY_SQL="COPY (SELECT * FROM pansweep_bench.orders) TO STDOUT"
for e in $ENGINES; do
    case $e in
        pg) setup_pg
            read -r n PG_PANS PG_MASKED < <(pg -AtF ' ' -c "$COUNTS FROM pansweep_bench.orders")
            echo "PostgreSQL: $n rows, $PG_PANS planted PANs, $PG_MASKED masked;" \
                "$(pg -Atc "SELECT pg_size_pretty(pg_table_size('pansweep_bench.orders'))") on disk," \
                "$(($(pg -c "$COPY_SQL" | wc -c) / ROWS)) bytes/row as COPY text" ;;
        mysql) setup_mysql
            read -r n MY_PANS MY_MASKED < <(my -e "$COUNTS FROM pansweep_bench.orders")
            echo "MariaDB: $n rows, $MY_PANS planted PANs, $MY_MASKED masked;" \
                "$(my -e "SELECT DATA_LENGTH >> 20 FROM information_schema.TABLES WHERE
                    TABLE_SCHEMA = 'pansweep_bench' AND TABLE_NAME = 'orders'") MiB on disk," \
                "$(($(mysqldump "${MY[@]}" --single-transaction --quick pansweep_bench orders | wc -c) / ROWS))" \
                "bytes/row as mysqldump output" ;;
        *) echo "unknown engine in ENGINES: $e" >&2; exit 2 ;;
    esac
done
[[ $MODE == bench ]] || exit 0

# --- benchmark -------------------------------------------------------------------------
if [[ -z ${PANSWEEP:-} ]]; then
    echo "building release binary"
    (cd "$ROOT" && cargo build --release --locked --quiet)
    PANSWEEP=${CARGO_TARGET_DIR:-$ROOT/target}/release/pansweep
fi
echo "pansweep: $("$PANSWEEP" --version)   hyperfine: $(hyperfine --version)   threads: $(nproc)"
echo "runs: $RUNS (+1 warmup), mean shown; peak RSS of the client process only (not the server)"

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; } # single-quoted, for eval and hyperfine's parser

# measure NAME MAX_EXIT CMD...: one run under /usr/bin/time -v (peak RSS), stdout to
# /dev/null; it is also the check that the command works before hyperfine times it.
measure() {
    local rc=0
    /usr/bin/time -v -o "$RESULTS/$1.time" "${@:3}" >/dev/null 2>"$RESULTS/$1.stderr" || rc=$?
    if ((rc > $2)); then
        echo "$1 failed (exit $rc): ${*:3}" >&2
        cat "$RESULTS/$1.stderr" >&2
        exit 1
    fi
}

# bench ENGINE PLANTED MASKED NAME CMD [NAME CMD]...: peak RSS of each command, one
# hyperfine group (the first command is the reference), then the table. A command whose
# name starts with "pansweep" may exit 1 (findings) and gets "-o FILE": its findings are
# counted from that first run, then it is timed with "-o /dev/null".
bench() {
    local engine=$1 json=$RESULTS/db-$1.json expect=("$2" "$3") args=() runs=() i=0 name cmd slug
    shift 3
    while (($#)); do
        name=$1 cmd=$2 slug=$engine-$i i=$((i + 1))
        shift 2
        if [[ $name == pansweep* ]]; then
            eval "measure $slug 1 $cmd -o $(q "$RESULTS/$slug.jsonl")"
            cmd+=" -o /dev/null"
        else
            eval "measure $slug 0 $cmd"
        fi
        args+=(-n "$name" "$cmd") runs+=("$RESULTS/$slug")
    done
    # -N: no shell, hyperfine discards stdout; -i: pansweep exits 1 on findings.
    if ! hyperfine --style basic --warmup 1 --runs "$RUNS" -N -i --export-json "$json" \
        "${args[@]}" >"${json%.json}.log" 2>&1; then
        cat "${json%.json}.log" >&2
        exit 1
    fi
    python3 - "$json" "$ROWS" "${expect[@]}" "${runs[@]}" <<'PY'
import collections, json, os, re, sys
res = json.load(open(sys.argv[1]))["results"]
rows, planted, masked, runs = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
rss = [int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(f + ".time").read())[1]) / 1024
       for f in runs]
def findings(f):  # pan/masked_pan/other finding records of a pansweep run
    if not os.path.exists(f + ".jsonl"):
        return ""
    c = collections.Counter(r.get("class") for r in map(json.loads, open(f + ".jsonl"))
                            if r.get("type") == "finding")
    return f"{c.pop('pan', 0)}/{c.pop('masked_pan', 0)}/{sum(c.values())}"
ref = rows / res[0]["mean"]
print(f"  {'tool':<20} {'mean s':>7} {'± s':>6} {'rows/s':>10} {'vs ' + res[0]['command']:>14}"
      f" {'RSS MiB':>8}  findings pan/masked/other (rows: {planted}/{masked}/0)")
for r, m, f in zip(res, rss, runs):
    rate = rows / r["mean"]
    print(f"  {r['command']:<20} {r['mean']:7.3f} {r['stddev'] or 0:6.3f} {rate:10,.0f}"
          f" {rate / ref:14.2f} {m:8.1f}  {findings(f)}")
# The acceptance check is on the first pansweep command (default --db-connections).
i = next(i for i, r in enumerate(res) if r["command"].startswith("pansweep"))
ratio = rows / res[i]["mean"] / ref
print(f"  {'PASS' if ratio >= 0.5 else 'FAIL'}: pansweep rate >= 50% of {res[0]['command']} ({ratio:.0%})")
print(f"  {'PASS' if rss[i] < 256 else 'FAIL'}: pansweep peak RSS < 256 MiB ({rss[i]:.1f} MiB)")
PY
}

PS="$(q "$PANSWEEP") --progress never -q db"
for e in $ENGINES; do
    case $e in
        pg) echo "== PostgreSQL $(pg -Atc 'SHOW server_version' | cut -d' ' -f1): pansweep_bench.orders, $ROWS rows"
            bench pg "$PG_PANS" "$PG_MASKED" \
                "psql COPY" "psql -X $(q "$PG_URL") -c $(q "$COPY_SQL")" \
                "pansweep db" "$PS $(q "$PG_URL") --schema pansweep_bench --format jsonl" \
                "pansweep db conn=1" "$PS $(q "$PG_URL") --schema pansweep_bench --format jsonl --db-connections 1" ;;
        mysql) echo "== MariaDB $(my -e 'SELECT VERSION()'): pansweep_bench.orders, $ROWS rows"
            bench mysql "$MY_PANS" "$MY_MASKED" \
                "mysqldump" "mysqldump $(printf '%q ' "${MY[@]}") --single-transaction --quick pansweep_bench orders" \
                "mysql -B SELECT" "mysql $(printf '%q ' "${MY[@]}") --quick -B -e $(q 'SELECT * FROM pansweep_bench.orders')" \
                "pansweep db" "$PS $(q "$MYSQL_URL_BENCH") --format jsonl" \
                "pansweep db conn=1" "$PS $(q "$MYSQL_URL_BENCH") --format jsonl --db-connections 1" ;;
    esac
done
