#!/usr/bin/env python3
"""Decoder speed: the same Japanese order log in UTF-8, UTF-16LE, Shift_JIS, EUC-JP and
ISO-2022-JP, scanned by one or more pansweep binaries with one thread, interleaved, and
the least CPU time (user + system) of RUNS runs reported per binary and file.

    bench/decoders.py [BINARY...]     default: target/release/pansweep

Env: RUNS (default 7), LINES (default 600000, ~54 MB in Shift_JIS), CORPUS_DIR (default
bench/corpus). One line in 10,000 holds a card number written in full-width digits and
minus signs (a Luhn-valid 453201... number generated here, never printed) with an expiry
date; every binary must report the same findings (ids and fingerprints aside), or the run
fails.
"""

import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("CORPUS_DIR", ROOT / "bench" / "corpus")) / "decoders"
RUNS = int(os.environ.get("RUNS", "7"))
LINES = int(os.environ.get("LINES", "600000"))
ENCODINGS = {"utf8": "utf-8", "utf16": "utf-16", "sjis": "shift_jis", "eucjp": "euc_jp", "iso2022": "iso2022_jp"}


def luhn_complete(body: str) -> str:
    total = 0
    for i, d in enumerate(int(c) for c in reversed(body)):
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def text(half_width: bool) -> str:
    rng = random.Random(7)
    wide = str.maketrans("0123456789-/", "０１２３４５６７８９−／")
    out = []
    for i in range(LINES):
        if i % 10000 == 5000:
            pan = luhn_complete("453201" + "".join(rng.choice("0123456789") for _ in range(9)))
            grouped = "-".join(pan[j : j + 4] for j in range(0, 16, 4)).translate(wide)
            kana = " ｶｰﾄﾞ" if half_width else ""
            out.append(f"カード番号 {grouped} 有効期限 {'12/29'.translate(wide)}{kana}\n")
        out.append(
            f"2024-10-22 11:{i % 60:02d}:30 注文番号 {100000 + i} お客様 山田太郎 様 "
            f"金額 {rng.randint(100, 99999)} 円 配送 東京都港区 {i % 97}-{i % 13}\n"
        )
    return "".join(out)


def corpus() -> list[Path]:
    CORPUS.mkdir(parents=True, exist_ok=True)
    stamp = CORPUS / f"lines-{LINES}"
    files = [CORPUS / f"{name}.txt" for name in ENCODINGS]
    if not stamp.exists():
        with_kana, without = text(True), None
        for (name, codec), path in zip(ENCODINGS.items(), files):
            # ISO-2022-JP has no half-width katakana.
            if name == "iso2022":
                without = without or text(False)
            path.write_bytes((without if name == "iso2022" else with_kana).encode(codec))
        stamp.touch()
    return files


def run(binary: str, path: Path) -> tuple[float, list[str]]:
    out = CORPUS / "out.jsonl"
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        args = ["--progress", "never", "scan", "-j", "1", "--format", "jsonl", "-o", str(out), str(path)]
        os.execv(binary, [binary, *args])
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(f"{binary} failed on {path}")
    findings = []
    for line in out.read_text().splitlines():
        rec = json.loads(line)
        if rec["type"] == "finding":
            findings.append(json.dumps({k: v for k, v in rec.items() if k not in ("id", "fingerprint")}, sort_keys=True))
    return usage.ru_utime + usage.ru_stime, findings


def main() -> None:
    binaries = sys.argv[1:] or [str(ROOT / "target" / "release" / "pansweep")]
    files = corpus()
    print(f"{'file':<14} {'MB':>6}  " + "  ".join(f"{Path(b).name:>18}" for b in binaries))
    for path in files:
        best = {b: float("inf") for b in binaries}
        seen = {}
        for _ in range(RUNS):
            for b in binaries:
                cpu, findings = run(b, path)
                best[b] = min(best[b], cpu)
                seen.setdefault(b, findings)
        if len({tuple(f) for f in seen.values()}) != 1:
            sys.exit(f"the binaries disagree on the findings in {path.name}")
        size = path.stat().st_size
        cells = "  ".join(f"{best[b]:7.3f} s {size / best[b] / 1e6:5.0f} MB/s" for b in binaries)
        print(f"{path.name:<14} {size / 1e6:6.1f}  {cells}   ({len(next(iter(seen.values())))} findings)")


if __name__ == "__main__":
    main()
