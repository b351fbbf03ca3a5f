#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/.

Seeds hold only public test card numbers (detection.md). Run from anywhere:
`python3 fuzz/seeds.py`; `python3 fuzz/seeds.py --scrub` breaks the check digit of any
other Luhn-valid number in the corpora (run it before committing inputs the fuzzers
found). `fuzz/run.sh` keeps what the fuzzers find elsewhere; inputs
worth keeping are added after `cargo fuzz cmin <target>` keeps the set small.
"""
import base64, gzip, io, os, sys, tarfile, zipfile, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
DETECTORS = os.path.join(HERE, "..", "detectors")

LOG = (b"2026-01-02 10:00:01 INFO order=1001 card=4111111111111111 exp=12/29 cvv=123\n"
       b"2026-01-02 10:00:02 INFO ip=10.0.0.12 user=alice status=200 bytes=5123\n")
CSV = b"id,name,card_no,expiry\n1,Yamada,5555 5555 5555 4444,2029-12\n2,Sato,3530-1113-3330-0000,01/30\n"
TRACK = b"%B4111111111111111^YAMADA/TARO^2912101000000000000000?\n;4111111111111111=29121010000000000000?\n"
JA = "カード番号：４１１１－１１１１－１１１１－１１１１　有効期限 2029年12月 セキュリティコード 123\n"
MASKED = b"card 4111-11XX-XXXX-1111 and 411111******1111\n"
B64 = b"payload: " + base64.b64encode(LOG) + b"\n"
QP = b"card=3D4111=\n1111=3D1111 1111 =34=31=31=31 1111 1111 1111\n"
HTML = b"<td>&#52;&#49;&#49;&#49; &#x31;111 1111 1111</td><p>%34111%201111%201111%201111</p>\n"
JSON = b'{"card":"\\u0034111111111111111","exp":"12\\/29"}\n'
XML = b"<w:t>4111</w:t></w:r><w:r><w:t>1111 1111 1111</w:t>\n"


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pdf(text):
    """A one-page PDF whose content stream draws `text`, with a correct xref table."""
    stream = b"BT /F1 12 Tf 72 720 Td (" + text + b") Tj ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title (order 5555555555554444) >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def pdf_flate(text):
    raw = pdf(text)
    stream = b"BT /F1 12 Tf 72 720 Td (" + text + b") Tj ET"
    packed = zlib.compress(stream)
    return raw.replace(b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream,
                       b"<< /Length " + str(len(packed)).encode() + b" /Filter /FlateDecode >>\nstream\n" + packed)


def zip_bytes(members, method=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for name, data in members:
            z.writestr(name, data)
    return b.getvalue()


def tar_bytes(members, fmt=tarfile.USTAR_FORMAT):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=fmt) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            t.addfile(info, io.BytesIO(data))
    return b.getvalue()


def eml(body, cte="7bit", charset="us-ascii", extra=b""):
    return (b"From: shop@example.com\r\nTo: ops@example.com\r\nSubject: order\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=" + charset.encode() +
            b"\r\nContent-Transfer-Encoding: " + cte.encode() + b"\r\n\r\n" + body + extra)


def multipart():
    att = base64.encodebytes(zip_bytes([("card.txt", CSV)]))
    return (b"From: a@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\n"
            b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            + QP + b"\r\n--BB\r\nContent-Type: application/zip; name=orders.zip\r\n"
            b"Content-Disposition: attachment; filename=orders.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + att + b"--BB--\r\n")


def main():
    texts = {"log": LOG, "csv": CSV, "track": TRACK, "ja-utf8": JA.encode(), "masked": MASKED,
             "b64": B64, "qp": QP, "html": HTML, "json": JSON, "xml": XML}
    for n, t in texts.items():
        put("scan", n, t)
    put("scan", "utf16le-bom", b"\xff\xfe" + (JA + "card 4111111111111111\n").encode("utf-16-le"))
    put("scan", "sjis", JA.encode("cp932"))
    put("scan", "gzip", gzip.compress(LOG, mtime=0))
    put("scan", "csv-long", CSV + b"".join(b"%d,name%d,,\n" % (i, i) for i in range(300)) + CSV)

    put("decode_utf16", "le", (JA + "4111 1111 1111 1111").encode("utf-16-le"))
    put("decode_utf16", "be", (JA + "4111 1111 1111 1111").encode("utf-16-be"))
    put("decode_utf16", "binary-strings", b"\x00\x01\x02" + "order card 4111111111111111".encode("utf-16-le") + b"\x00\x00\xff")
    legacy = JA.replace("\uff0d", "\u2212")  # U+FF0D is CP932-only
    put("decode_japanese", "cp932", JA.encode("cp932"))
    for enc in ("shift_jis", "euc_jp", "iso2022_jp"):
        put("decode_japanese", enc, legacy.encode(enc))
    put("decode_japanese", "utf8-fullwidth", JA.encode())

    for t in ("decode_base64", "decode_qp", "decode_entities"):
        for n in ("log", "ja-utf8", "csv"):
            put(t, n, texts[n])
    put("decode_base64", "b64", B64)
    put("decode_qp", "qp", QP)
    put("decode_entities", "html", HTML)
    put("decode_entities", "json", JSON)
    put("decode_entities", "xml", XML)

    put("zip", "deflate", zip_bytes([("orders.csv", CSV), ("logs/app.log", LOG)]))
    put("zip", "stored", zip_bytes([("track.txt", TRACK)], zipfile.ZIP_STORED))
    put("zip", "nested", zip_bytes([("inner.zip", zip_bytes([("a.txt", LOG)])), ("a.gz", gzip.compress(CSV, mtime=0))]))
    put("tar", "ustar", tar_bytes([("orders.csv", CSV), ("dir/app.log", LOG)]))
    put("tar", "pax-long-name", tar_bytes([("d/" + "x" * 120 + ".txt", TRACK)], tarfile.PAX_FORMAT))
    put("tar", "gnu", tar_bytes([("gnu.txt", JA.encode())], tarfile.GNU_FORMAT))
    put("gzip", "log", gzip.compress(LOG, mtime=0))
    put("gzip", "two-members", gzip.compress(LOG, mtime=0) + gzip.compress(CSV, mtime=0))
    put("gzip", "tar-gz", gzip.compress(tar_bytes([("orders.csv", CSV)]), mtime=0))

    put("mail", "eml-plain", b"\x00" + eml(LOG))
    put("mail", "eml-b64-sjis", b"\x00" + eml(base64.encodebytes(JA.encode("cp932")), "base64", "shift_jis"))
    put("mail", "eml-iso2022", b"\x00" + eml(JA.replace("\uff0d", "\u2212").encode("iso2022_jp"), "7bit", "iso-2022-jp"))
    put("mail", "eml-multipart", b"\x00" + multipart())
    put("mail", "mbox", b"\x01" + b"From shop@example.com Mon Jan  1 00:00:00 2026\n" + eml(LOG) +
        b"\nFrom shop@example.com Mon Jan  1 00:00:01 2026\n" + multipart())

    put("pdf", "plain", pdf(b"card 4111 1111 1111 1111 exp 12/29"))
    put("pdf", "flate", pdf_flate(b"order 5555555555554444"))

    files = []
    for root, _, names in os.walk(DETECTORS):
        for n in names:
            if n.endswith(".toml"):
                files.append(os.path.relpath(os.path.join(root, n), DETECTORS))
    # The loader target picks the file to replace by index into builtin::FILES (sorted).
    for i, rel in enumerate(sorted(files)):
        with open(os.path.join(DETECTORS, rel), "rb") as f:
            put("detectors_toml", rel.replace("/", "-"), bytes([i]) + f.read())


def test_pans():
    """The public test numbers listed in detectors/test-pans.toml."""
    import re
    with open(os.path.join(DETECTORS, "test-pans.toml")) as f:
        return set(re.findall(r'"(\d{12,19})"', f.read()))


def luhn(d):
    total = 0
    for i, c in enumerate(reversed(d)):
        v = int(c)
        if i % 2 == 1:
            v = v * 2 - 9 if v * 2 > 9 else v * 2
        total += v
    return total % 10 == 0


def scrub():
    """Breaks the check digit of every Luhn-valid run of 12-19 ASCII digits (also grouped
    by one space, '-' or '.') in the corpora that is not a public test number, so that no
    committed input can hold a real card number a mutation happened to make."""
    import re
    keep = test_pans()
    chain = re.compile(rb"\d+(?:[ .-]\d+)*")
    changed = 0
    for root, _, names in os.walk(CORPUS):
        for n in names:
            path = os.path.join(root, n)
            data = bytearray(open(path, "rb").read())
            first = bytes(data)
            # A changed digit can complete another window: repeat until nothing changes.
            for _ in range(10):
                orig = bytes(data)
                scrub_once(chain, keep, data, orig)
                if data == orig:
                    break
            if data != first:
                open(path, "wb").write(data)
                changed += 1
    print(f"scrubbed {changed} files")


def scrub_once(chain, keep, data, orig):
    """One pass of `scrub` over one file's bytes (changed in place)."""
    for m in chain.finditer(orig):
        pos = [m.start() + i for i, b in enumerate(m.group()) if 48 <= b <= 57]
        # every run of 12-19 consecutive digits of the chain, separators ignored
        for a in range(len(pos)):
            for b in range(a + 12, min(a + 19, len(pos)) + 1):
                digits = bytes(data[p] for p in pos[a:b]).decode()
                if luhn(digits) and digits not in keep:
                    last = pos[b - 1]
                    data[last] = 48 + (data[last] - 48 + 1) % 10

if __name__ == "__main__":
    if sys.argv[1:] == ["--scrub"]:
        sys.exit(scrub())
    sys.exit(main())
