#!/usr/bin/env bash
# Compare pansweep with ripgrep on generated corpora, in the same run (timings on a shared
# machine are noisy: only the ratios are meaningful), and measure peak memory.
#
#   bench/compare.sh            1 GiB log file, a 2 GiB tree (2,048 files of 1 MiB), 100,000
#                               files of ~8 KiB (100 dirs); pansweep with -j 1 and -j 2
#   bench/compare.sh --quick    256 MiB log file, 256 MiB tree, 10,000 files
#   bench/compare.sh --kernel   the engine in memory (criterion, one thread) on the 1 GiB log
#                               file vs `rg -c '[0-9]{13,19}'` on the same file
#   bench/compare.sh --generate only make the corpora
#   bench/compare.sh --memory   peak RSS on a sparse 10 GiB file and on 1,000,000 small files
#   bench/compare.sh --embedded 100 MiB of base64 text vs 100 MiB of plain log text (issue 4:
#                               base64-looking text within 3x the time of plain text)
#
# Env: CORPUS_DIR (default bench/corpus, gitignored), RUNS (hyperfine runs, default 3),
# PANSWEEP (a pansweep binary to use instead of building target/release/pansweep),
# BIG_MIB / NFILES (override the corpus sizes).
# Corpora are generated once and reused (delete the directory to regenerate); the
# 1,000,000-file tree of --memory is deleted afterwards. Results (hyperfine JSON,
# /usr/bin/time output) go to $CORPUS_DIR/results. Planted card numbers are random,
# Luhn-valid and never printed.
set -euo pipefail

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }

MODE=full
for arg in "$@"; do
    case "$arg" in
        --quick) MODE=quick ;;
        --memory) MODE=memory ;;
        --embedded) MODE=embedded ;;
        --kernel) MODE=kernel ;;
        --generate) MODE=generate ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown option: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPUS_DIR=${CORPUS_DIR:-$ROOT/bench/corpus}
RUNS=${RUNS:-3}
RESULTS=$CORPUS_DIR/results
mkdir -p "$CORPUS_DIR" "$RESULTS"
CORPUS_DIR=$(cd "$CORPUS_DIR" && pwd)
RESULTS=$CORPUS_DIR/results

if [[ $MODE == quick ]]; then
    BIG_MIB=${BIG_MIB:-256} NFILES=${NFILES:-10000} TREE_MIB=${TREE_MIB:-256}
else
    BIG_MIB=${BIG_MIB:-1024} NFILES=${NFILES:-100000} TREE_MIB=${TREE_MIB:-2048}
fi

# --- tools ---------------------------------------------------------------------------
need=()
command -v rg >/dev/null || need+=(ripgrep)
command -v hyperfine >/dev/null || need+=(hyperfine)
[[ -x /usr/bin/time ]] || need+=(time)
command -v python3 >/dev/null || need+=(python3)
if ((${#need[@]})); then
    echo "installing: ${need[*]}"
    SUDO=; [[ $(id -u) -eq 0 ]] || SUDO=sudo
    $SUDO apt-get install -y "${need[@]}" >/dev/null
fi

if [[ -z ${PANSWEEP:-} && $MODE != generate && $MODE != kernel ]]; then
    echo "building release binary"
    (cd "$ROOT" && cargo build --release --quiet)
    PANSWEEP=${CARGO_TARGET_DIR:-$ROOT/target}/release/pansweep
fi
PANSWEEP_CMD="${PANSWEEP:-pansweep} scan --format jsonl --progress never -q -o /dev/null"

# --- corpus generator ----------------------------------------------------------------
# gen.py big PATH MIB | tree DIR NFILES NDIRS FILE_BYTES
GEN=$CORPUS_DIR/gen.py
cat >"$GEN" <<'PY'
import os, random, sys

MIB = 1 << 20
rng = random.Random(20241022)

def luhn_pan():
    """A random Luhn-valid 16-digit Visa or Mastercard number."""
    body = [4, rng.randrange(10)] if rng.random() < 0.5 else [5, rng.randint(1, 5)]
    body += [rng.randrange(10) for _ in range(13)]
    total = 0
    for i, d in enumerate(reversed(body)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    s = "".join(map(str, body + [(10 - total % 10) % 10]))
    sep = rng.choice(["", " ", "-"])
    return sep.join(s[i:i + 4] for i in range(0, 16, 4))

PATHS = ["/index.html", "/api/v1/orders", "/static/app.js", "/shop/item", "/images/logo.png",
         "/api/v2/session/refresh", "/search", "/account/settings"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
          "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0",
          "curl/8.5.0", "okhttp/4.12.0"]

def line(pan=None):
    r = rng.randrange
    ip = f"{r(256)}.{r(256)}.{r(256)}.{r(256)}"
    q = rng.choice([f"?id={r(1000000)}&page={r(50)}", f"/{r(100000)}", ""])
    s = (f'{ip} - - [{1 + r(28):02}/Oct/2024:{r(24):02}:{r(60):02}:{r(60):02} +0000] '
         f'"{rng.choice(["GET", "GET", "GET", "POST"])} {rng.choice(PATHS)}{q} HTTP/1.1" '
         f'{rng.choice(["200", "304", "404", "500"])} {r(60000)} "-" "{rng.choice(AGENTS)}" '
         f'rt=0.{r(1000):03} uid={r(10000000)}')
    if pan:
        s += f" card={pan}"
    return s + "\n"

def block(size=MIB):
    """About `size` bytes of log lines with one planted PAN in the middle."""
    lines, n, planted = [], 0, False
    while n < size:
        l = line(luhn_pan() if not planted and n >= size // 2 else None)
        planted = planted or n >= size // 2
        lines.append(l)
        n += len(l)
    return "".join(lines).encode()

def base_blocks(k):
    return [block() for _ in range(k)]

def big(path, mib):
    blocks = base_blocks(32)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        for i in range(mib):
            # Variation: a different block order on every pass over the base blocks.
            if i % len(blocks) == 0:
                rng.shuffle(blocks)
            f.write(blocks[i % len(blocks)])
    os.replace(tmp, path)

def tree_part(args):
    """Files [lo, hi) of the tree; one process per part, each with its own generator."""
    global rng
    root, lo, hi, per_dir, file_bytes, seed = args
    rng = random.Random(seed)
    data = b"".join(block() for _ in range(4)) if file_bytes >= 1024 else b""
    pos = rng.randrange(4096)
    for i in range(lo, hi):
        d = os.path.join(root, f"d{i // per_dir:04}")
        if i % per_dir == 0 or i == lo:
            os.makedirs(d, exist_ok=True)
        if file_bytes >= 1024:
            # Whole lines, at least file_bytes long.
            if pos + file_bytes + 4096 > len(data):
                pos = rng.randrange(4096)
            end = data.index(b"\n", pos + file_bytes) + 1
            chunk, pos = data[pos:end], end
        else:
            # Tiny files: one short line, a PAN in one file of 1000.
            pan = luhn_pan() if i % 1000 == 500 else None
            chunk = (f"{i} 2024-10-22 11:11:{i % 60:02} user={rng.randrange(10**6)} ok"
                     + (f" card={pan}" if pan else "") + "\n").encode()
            chunk = chunk.ljust(file_bytes - 1, b".") + b"\n" if len(chunk) < file_bytes else chunk
        with open(os.path.join(d, f"f{i:07}.log"), "wb") as f:
            f.write(chunk)

def tree(root, nfiles, ndirs, file_bytes):
    from multiprocessing import Pool
    per_dir = (nfiles + ndirs - 1) // ndirs
    nparts = 8
    step = (nfiles + nparts - 1) // nparts
    parts = [(root, lo, min(lo + step, nfiles), per_dir, file_bytes, 1000 + k)
             for k, lo in enumerate(range(0, nfiles, step))]
    with Pool(min(nparts, 2 * (os.cpu_count() or 1))) as pool:
        pool.map(tree_part, parts)

def b64(path, mib, digits):
    """`mib` MiB of MIME-style base64 lines (76 characters): of random bytes (a capture
    file, an image) or, with `digits`, of digit-dense CSV text (the worst case: every
    block decodes to digit runs and is scanned again)."""
    import base64
    with open(path + ".tmp", "wb") as f:
        n = 0
        while n < mib * MIB:
            if digits:
                r = rng.randrange
                raw = "".join(f"{r(10**6)},2024-10-22,{r(10**5)}.{r(100):02},{r(10**10):010},{r(10**15):015}\n"
                              for _ in range(1000)).encode()
            else:
                raw = rng.randbytes(57 * 1000)
            enc = base64.encodebytes(raw)
            f.write(enc)
            n += len(enc)
    os.replace(path + ".tmp", path)

if sys.argv[1] == "big":
    big(sys.argv[2], int(sys.argv[3]))
elif sys.argv[1] == "b64":
    b64(sys.argv[2], int(sys.argv[3]), len(sys.argv) > 4)
else:
    tree(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
PY

# Makes DIR with NFILES files unless DIR.done exists (the marker lives outside the tree so
# it is never scanned).
make_tree() {
    local dir=$1 nfiles=$2 ndirs=$3 bytes=$4
    if [[ ! -e $dir.done ]]; then
        echo "generating $nfiles files of ~$bytes bytes in $ndirs dirs under $dir"
        rm -rf "$dir"
        mkdir -p "$dir"
        local t0=$SECONDS
        python3 "$GEN" tree "$dir" "$nfiles" "$ndirs" "$bytes"
        sync
        touch "$dir.done"
        echo "  done in $((SECONDS - t0)) s"
    fi
}

bytes_of() { find "$1" -type f -printf '%s\n' | awk '{ n += $1 } END { printf "%d", n }'; }

# /usr/bin/time -v on one command: prints peak RSS, wall time and CPU%, keeps the log.
measure() {
    local name=$1
    shift
    local log=$RESULTS/time-$name.txt
    /usr/bin/time -v -o "$log" "$@" || true
    python3 - "$log" "$name" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def field(label):
    m = re.search(re.escape(label) + r":\s*(.+)", text)
    return m.group(1).strip() if m else "?"
rss_kib = int(field("Maximum resident set size (kbytes)"))
print(f"  {sys.argv[2]:<34} peak RSS {rss_kib / 1024:8.1f} MiB   wall {field('Elapsed (wall clock) time (h:mm:ss or m:ss)'):>8}"
      f"   CPU {field('Percent of CPU this job got'):>5}")
PY
}

# Prints MB/s per command from a hyperfine JSON export and the throughput ratio of the
# first command (pansweep) to each other one (> 1: pansweep is faster), by wall time and by
# CPU time (user + system, means): CPU time is less sensitive to other load on the machine.
report() {
    python3 - "$1" "$2" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
nbytes = int(sys.argv[2])
base = res[0]["median"]
base_cpu = res[0]["user"] + res[0]["system"]
for r in res:
    t, cpu = r["median"], r["user"] + r["system"]
    print(f"  {r['command']:<10} wall median {t:7.3f} s {nbytes / t / 1e6:8.1f} MB/s"
          f" | cpu {cpu:7.3f} s {nbytes / cpu / 1e6:8.1f} MB/s per cpu-s"
          + ("" if r is res[0] else f" | pansweep/this: wall {t / base:5.2f}x, cpu {cpu / base_cpu:5.2f}x"))
PY
}

# hyper JSON NAME CMD [NAME CMD]...: no shell (-N), output discarded by hyperfine, non-zero
# exits ignored (-i: pansweep exits 1 when it finds card data, rg exits 1 on no match).
hyper() {
    local json=$1
    shift
    local args=()
    while (($#)); do
        args+=(-n "$1" "$2")
        shift 2
    done
    if ! hyperfine --style basic --warmup 1 --runs "$RUNS" -i -N --export-json "$json" "${args[@]}" >"${json%.json}.log" 2>&1; then
        cat "${json%.json}.log" >&2
        exit 1
    fi
}

# --- memory mode ---------------------------------------------------------------------
if [[ $MODE == memory ]]; then
    echo "== memory: sparse 10 GiB file"
    SPARSE=$CORPUS_DIR/mem-sparse
    mkdir -p "$SPARSE"
    if [[ ! -e $SPARSE/big.bin ]]; then
        truncate -s 10G "$SPARSE/big.bin"
        # A few PANs: inside a piece, across a 1 MiB chunk edge, across a 16 MiB piece edge,
        # near the end.
        for off in $((1 << 30)) $(((5 << 20) - 9)) $(((48 << 20) - 10)) $(((5 << 30) + 123)) $(((10 << 30) - 4096)); do
            python3 -c 'import random,sys
r=random.Random(int(sys.argv[1]))
b=[4]+[r.randrange(10) for _ in range(14)]
t=sum((d*2-9 if d*2>9 else d*2) if i%2==0 else d for i,d in enumerate(reversed(b)))
sys.stdout.write(" card "+"".join(map(str,b+[(10-t%10)%10]))+" \n")' "$off" \
                | dd of="$SPARSE/big.bin" bs=1 seek="$off" conv=notrunc status=none
        done
    fi
    echo "  $(du -h --apparent-size "$SPARSE/big.bin" | cut -f1) apparent, $(du -h "$SPARSE/big.bin" | cut -f1) on disk, 5 planted PANs"
    measure pansweep-sparse-10G $PANSWEEP scan --format jsonl --progress never -q -o "$RESULTS/sparse.jsonl" "$SPARSE"
    python3 - "$RESULTS/sparse.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
s = [r for r in recs if r.get("type") == "summary"][0]
n = sum(1 for r in recs if r.get("type") == "finding")
print(f"  findings {n} (5 planted), files {s.get('files')}, bytes {s.get('bytes')}, complete {s.get('complete')}")
PY

    echo "== memory: 1,000,000 files of ~100 bytes (1000 dirs x 1000)"
    MANY=$CORPUS_DIR/mem-1M
    make_tree "$MANY" 1000000 1000 100
    measure pansweep-1M-files $PANSWEEP scan --format jsonl --progress never -q -o "$RESULTS/1M.jsonl" "$MANY"
    python3 - "$RESULTS/1M.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
s = [r for r in recs if r.get("type") == "summary"][0]
n = sum(1 for r in recs if r.get("type") == "finding")
print(f"  findings {n} (1000 planted), files {s.get('files')}, skipped {s.get('skipped')}, complete {s.get('complete')}")
PY
    measure rg-1M-files sh -c "rg -c '[0-9]{13,19}' '$MANY' >/dev/null"
    echo "removing the 1,000,000-file tree"
    rm -rf "$MANY" "$MANY.done"
    exit 0
fi

# --- embedded mode -------------------------------------------------------------------
if [[ $MODE == embedded ]]; then
    PLAIN=$CORPUS_DIR/log-100M.log B64=$CORPUS_DIR/b64-100M.txt B64D=$CORPUS_DIR/b64digits-100M.txt
    [[ -e $PLAIN ]] || python3 "$GEN" big "$PLAIN" 100
    [[ -e $B64 ]] || python3 "$GEN" b64 "$B64" 100
    [[ -e $B64D ]] || python3 "$GEN" b64 "$B64D" 100 digits
    echo "pansweep: $($PANSWEEP --version)   runs: $RUNS (+1 warmup), warm page cache, median shown"
    for j in 1 2; do
        echo "== -j $j: plain log text, base64 of random bytes, base64 of digit-dense text (100 MiB each)"
        hyper "$RESULTS/embedded-j$j.json" \
            plain "$PANSWEEP_CMD -j $j $PLAIN" \
            base64 "$PANSWEEP_CMD -j $j $B64" \
            "base64 digits" "$PANSWEEP_CMD -j $j $B64D"
        python3 - "$RESULTS/embedded-j$j.json" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
p = res[0]
for r in res:
    cpu = r["user"] + r["system"]
    print(f"  {r['command']:<14} wall median {r['median']:6.3f} s  cpu {cpu:6.3f} s"
          + ("" if r is p else f"  | time / plain: wall {r['median'] / p['median']:4.2f}x,"
                               f" cpu {cpu / (p['user'] + p['system']):4.2f}x"))
PY
    done
    exit 0
fi

# --- corpora ---------------------------------------------------------------------------
BIG=$CORPUS_DIR/log-${BIG_MIB}M.log
if [[ ! -e $BIG ]]; then
    echo "generating $BIG"
    t0=$SECONDS
    python3 "$GEN" big "$BIG" "$BIG_MIB"
    echo "  done in $((SECONDS - t0)) s"
fi

if [[ $MODE == kernel ]]; then
    BIG_BYTES=$(stat -c %s "$BIG")
    echo "== engine in memory (criterion, 1 thread) vs rg on $BIG ($BIG_BYTES bytes, cached)"
    cat "$BIG" >/dev/null
    (cd "$ROOT" && BENCH_FILE=$BIG cargo bench --quiet --bench scan -- scan/ --warm-up-time 2 --measurement-time 10 2>&1) \
        | tee "$RESULTS/kernel-criterion.txt" | grep -E '^scan/|thrpt|summary file'
    hyper "$RESULTS/kernel-rg.json" "rg digits" "rg -c [0-9]{13,19} $BIG" "rg literal" "rg -c zzqqxx $BIG"
    python3 - "$RESULTS/kernel-rg.json" "$BIG_BYTES" "$RESULTS/kernel-criterion.txt" <<'PY'
import json, re, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
n = int(sys.argv[2])
text = open(sys.argv[3]).read()
rg = n / res["rg digits"]["median"] / 1e9
print(f"  rg -c '[0-9]{{13,19}}': {rg:.3f} GB/s (wall, whole run)   rg -c zzqqxx: {n / res['rg literal']['median'] / 1e9:.2f} GB/s")
for name in ["kernel-avx512", "kernel-avx2", "kernel-sse2", "kernel-neon", "pansweep", "chains"]:
    m = re.search(r"scan/" + name + r"/file\s+time:.*?\n\s+thrpt:\s+\[\S+ \S+ (\S+) (\S+)", text)
    if m:
        v = float(m.group(1)) * (1e-3 if m.group(2) == "MB/s" else 1)
        print(f"  {name:<12} {v:7.3f} GB/s per core = {v / rg:6.1f}x rg")
PY
    exit 0
fi

TREE=$CORPUS_DIR/tree-$NFILES
make_tree "$TREE" "$NFILES" 100 8192
TREE2=$CORPUS_DIR/tree-${TREE_MIB}M
make_tree "$TREE2" "$TREE_MIB" 32 1048576
[[ $MODE == generate ]] && exit 0

BIG_BYTES=$(bytes_of "$BIG")
TREE_BYTES=$(bytes_of "$TREE")
TREE2_BYTES=$(bytes_of "$TREE2")
echo "corpus: $BIG ($BIG_BYTES bytes), $TREE2 ($TREE_MIB files, $TREE2_BYTES bytes), $TREE ($NFILES files, $TREE_BYTES bytes)"
echo "pansweep: $($PANSWEEP --version)   rg: $(rg --version | sed -n 1p)   hyperfine: $(hyperfine --version)"
echo "threads: $(nproc)   runs: $RUNS (+1 warmup), warm page cache, median shown"

echo "== single ${BIG_MIB} MiB log file"
hyper "$RESULTS/big-$BIG_MIB.json" \
    pansweep "$PANSWEEP_CMD $BIG" \
    "pansweep -j 1" "$PANSWEEP_CMD -j 1 $BIG" \
    "rg digits" "rg -c [0-9]{13,19} $BIG"
report "$RESULTS/big-$BIG_MIB.json" "$BIG_BYTES"

echo "== $TREE_MIB files of 1 MiB"
hyper "$RESULTS/tree2-$TREE_MIB.json" \
    pansweep "$PANSWEEP_CMD $TREE2" \
    "pansweep -j 1" "$PANSWEEP_CMD -j 1 $TREE2" \
    "rg digits" "rg -c [0-9]{13,19} $TREE2" \
    "rg literal" "rg -c zzqqxx $TREE2"
report "$RESULTS/tree2-$TREE_MIB.json" "$TREE2_BYTES"

echo "== $NFILES files (~8 KiB each)"
hyper "$RESULTS/tree-$NFILES.json" \
    pansweep "$PANSWEEP_CMD $TREE" \
    "pansweep -j 1" "$PANSWEEP_CMD -j 1 $TREE" \
    "rg digits" "rg -c [0-9]{13,19} $TREE" \
    "rg literal" "rg -c zzqqxx $TREE"
report "$RESULTS/tree-$NFILES.json" "$TREE_BYTES"

echo "== peak memory"
measure "pansweep-big-$BIG_MIB" $PANSWEEP_CMD "$BIG"
measure "rg-big-$BIG_MIB" sh -c "rg -c '[0-9]{13,19}' '$BIG' >/dev/null"
measure "pansweep-tree2-$TREE_MIB" $PANSWEEP_CMD "$TREE2"
measure "rg-tree2-$TREE_MIB" sh -c "rg -c '[0-9]{13,19}' '$TREE2' >/dev/null"
measure "pansweep-tree-$NFILES" $PANSWEEP_CMD "$TREE"
measure "rg-tree-$NFILES" sh -c "rg -c '[0-9]{13,19}' '$TREE' >/dev/null"
