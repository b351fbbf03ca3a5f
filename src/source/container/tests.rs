//! Tests for containers. Every fixture (bombs included) is built here, at test time, with the
//! same crates that read them; the only card number used is the public test number below.

use std::io::{Cursor, Read, Write};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use sevenz_rust2::encoder_options::{AesEncoderOptions, Lzma2Options};
use sevenz_rust2::{ArchiveEntry, ArchiveWriter, EncoderConfiguration, EncoderMethod, Password, SourceReader};
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

use super::stream::inner_name;
use super::*;

const CARD: &[u8] = b"card 4111 1111 1111 1111 exp 12/29\n";

#[derive(Debug, Default)]
struct Out {
    leaves: Vec<(String, Vec<&'static str>, Vec<u8>)>,
    skips: Vec<Skip>,
    stats: WalkStats,
}

impl Out {
    fn leaf(&self, path: &str) -> &(String, Vec<&'static str>, Vec<u8>) {
        self.leaves.iter().find(|l| l.0 == path).unwrap_or_else(|| panic!("no leaf {path} in {:?}", self.paths()))
    }
    fn paths(&self) -> Vec<&str> {
        self.leaves.iter().map(|l| l.0.as_str()).collect()
    }
    fn skip_reasons(&self) -> Vec<String> {
        self.skips.iter().map(ToString::to_string).collect()
    }
}

fn run_input(format: Format, path: &str, input: Input<'_>, limits: &Limits, cancel: bool) -> Out {
    let cancel = AtomicBool::new(cancel);
    let mut leaves = Vec::new();
    let mut skips = Vec::new();
    let stats = walk(
        format,
        path,
        input,
        limits,
        &cancel,
        &mut |p, chain, r, _| {
            let mut buf = Vec::new();
            let res = r.read_to_end(&mut buf);
            leaves.push((p.to_owned(), chain.to_vec(), buf));
            res.map(drop)
        },
        &mut |s| skips.push(s),
    );
    Out { leaves, skips, stats }
}

/// Sniffs `data` and walks it as a stream.
fn run(path: &str, data: &[u8], limits: &Limits) -> Out {
    let format = sniff(&data[..data.len().min(SNIFF_LEN)], path).expect("fixture is a container");
    run_input(format, path, Input::Stream(&mut &data[..]), limits, false)
}

fn gz(data: &[u8], name: Option<&str>) -> Vec<u8> {
    let mut b = flate2::GzBuilder::new();
    if let Some(n) = name {
        b = b.filename(n);
    }
    let mut w = b.write(Vec::new(), flate2::Compression::best());
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

fn bz2(data: &[u8]) -> Vec<u8> {
    let mut w = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

fn xz(data: &[u8], preset: u32) -> Vec<u8> {
    let mut w = liblzma::write::XzEncoder::new(Vec::new(), preset);
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

fn zst(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn zip_of(members: &[(&str, &[u8], CompressionMethod)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data, method) in members {
        w.start_file(*name, SimpleFileOptions::default().compression_method(*method)).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// How a 7z fixture is written.
#[derive(Clone, Copy, PartialEq)]
enum Seven {
    /// One block per file, LZMA2.
    Plain,
    /// All files in one LZMA2 block.
    Solid,
    /// One block per file, stored.
    Copy,
    /// All files in one stored block.
    SolidCopy,
}

fn lzma2() -> EncoderConfiguration {
    Lzma2Options::from_level(1).into()
}

/// A 7z of `members`, written at test time; a name ending in `/` is a directory.
fn sevenz_of(members: &[(&str, &[u8])], how: Seven) -> Vec<u8> {
    let mut w = ArchiveWriter::new(Cursor::new(Vec::new())).unwrap();
    let copy = matches!(how, Seven::Copy | Seven::SolidCopy);
    w.set_content_methods(vec![if copy { EncoderMethod::COPY.into() } else { lzma2() }]);
    let entry = |n: &str| match n.strip_suffix('/') {
        Some(d) => ArchiveEntry::new_directory(d),
        None => ArchiveEntry::new_file(n),
    };
    if matches!(how, Seven::Solid | Seven::SolidCopy) {
        let files: Vec<_> = members.iter().filter(|(n, _)| !n.ends_with('/')).collect();
        w.push_archive_entries(
            files.iter().map(|(n, _)| entry(n)).collect(),
            files.iter().map(|(_, d)| SourceReader::new(*d)).collect(),
        )
        .unwrap();
        for (n, _) in members.iter().filter(|(n, _)| n.ends_with('/')) {
            w.push_archive_entry::<&[u8]>(entry(n), None).unwrap();
        }
    } else {
        for (n, d) in members {
            w.push_archive_entry(entry(n), (!n.ends_with('/')).then_some(*d)).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

fn assert_card(out: &Out, path: &str, chain: &[&str]) {
    let (_, c, bytes) = out.leaf(path);
    assert_eq!(c, chain, "chain of {path}");
    assert_eq!(bytes.as_slice(), CARD, "bytes of {path}");
}

#[test]
fn every_stream_format_yields_the_member() {
    let cases: [(&str, Vec<u8>, &str, &str); 5] = [
        ("d/x.csv.gz", gz(CARD, None), "d/x.csv.gz!x.csv", "gzip"),
        ("d/x.gz", gz(CARD, Some("orders.csv")), "d/x.gz!orders.csv", "gzip"),
        ("x.csv.bz2", bz2(CARD), "x.csv.bz2!x.csv", "bzip2"),
        ("x.csv.xz", xz(CARD, 6), "x.csv.xz!x.csv", "xz"),
        ("x.csv.zst", zst(CARD), "x.csv.zst!x.csv", "zstd"),
    ];
    for (name, data, member, decoder) in cases {
        let out = run(name, &data, &Limits::default());
        assert_card(&out, member, &[decoder]);
        assert!(out.skips.is_empty(), "{name}: {:?}", out.skip_reasons());
        assert_eq!((out.stats.members, out.stats.leaves), (1, 1));
        assert_eq!(out.stats.expanded_bytes, CARD.len() as u64);
    }
}

#[test]
fn tar_plain_and_compressed() {
    let l = Limits::default();
    let tar = tar_of(&[("db/orders.csv", CARD), ("empty.txt", b"")]);
    let out = run("b.tar", &tar, &l);
    assert_card(&out, "b.tar!db/orders.csv", &["tar"]);
    assert_eq!(out.leaf("b.tar!empty.txt").2, b"");
    let cases: [(&str, Vec<u8>, &str, &str); 4] = [
        ("b.tar.gz", gz(&tar, None), "b.tar.gz!db/orders.csv", "gzip"),
        ("b.tgz", gz(&tar, None), "b.tgz!db/orders.csv", "gzip"),
        ("b.tar.bz2", bz2(&tar), "b.tar.bz2!db/orders.csv", "bzip2"),
        ("b.txz", xz(&tar, 1), "b.txz!db/orders.csv", "xz"),
    ];
    for (name, data, member, outer) in cases {
        let out = run(name, &data, &l);
        assert_card(&out, member, &[outer, "tar"]);
        assert!(out.skips.is_empty(), "{name}: {:?}", out.skip_reasons());
    }
    let out = run("b.tar.zst", &zst(&tar), &l);
    assert_card(&out, "b.tar.zst!db/orders.csv", &["zstd", "tar"]);
}

#[test]
fn zip_methods_stream_and_seekable() {
    let data = zip_of(&[
        ("dir/", b"", CompressionMethod::Stored),
        ("stored.csv", CARD, CompressionMethod::Stored),
        ("deflated.csv", CARD, CompressionMethod::Deflated),
        ("bzip2.csv", CARD, CompressionMethod::Bzip2),
        ("zstd.csv", CARD, CompressionMethod::Zstd),
    ]);
    let l = Limits::default();
    let stream = run("a.docx", &data, &l);
    let mut cursor = Cursor::new(data.clone());
    let seek = run_input(Format::Zip, "a.docx", Input::Seekable(&mut cursor), &l, false);
    for out in [stream, seek] {
        for m in ["stored", "deflated", "bzip2", "zstd"] {
            assert_card(&out, &format!("a.docx!{m}.csv"), &["zip"]);
        }
        assert_eq!(out.leaves.len(), 4);
        assert_eq!(out.stats.members, 5);
        assert!(out.skips.is_empty(), "{:?}", out.skip_reasons());
    }
}

#[test]
fn nested_tar_gz_zip_csv() {
    let inner = zip_of(&[("orders.csv", CARD, CompressionMethod::Deflated)]);
    let tar = tar_of(&[("readme.txt", b"nothing here"), ("dir/x.zip", &inner)]);
    let out = run("srv/site.tar.gz", &gz(&tar, None), &Limits::default());
    assert_card(&out, "srv/site.tar.gz!dir/x.zip!orders.csv", &["gzip", "tar", "zip"]);
    assert_eq!(out.leaf("srv/site.tar.gz!readme.txt").1, ["gzip", "tar"]);
    assert!(out.skips.is_empty(), "{:?}", out.skip_reasons());
}

#[test]
fn names_are_labels_only() {
    let z = zip_of(&[("../../etc/evil.csv", CARD, CompressionMethod::Stored)]);
    let out = run("a.zip", &z, &Limits::default());
    assert_card(&out, "a.zip!../../etc/evil.csv", &["zip"]);
    // A tar name that is not UTF-8, written into the header by hand.
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..8].copy_from_slice(b"caf\xe9.csv");
    h.set_size(CARD.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append(&h, CARD).unwrap();
    let t = b.into_inner().unwrap();
    let out = run("n.tar", &t, &Limits::default());
    assert_card(&out, "n.tar!caf\u{fffd}.csv", &["tar"]);
}

#[test]
fn depth_bomb_42_style() {
    // Ten levels of zips, each holding two copies of the level below.
    let mut level = zip_of(&[("orders.csv", CARD, CompressionMethod::Deflated)]);
    for _ in 0..10 {
        level =
            zip_of(&[("a.zip", &level, CompressionMethod::Deflated), ("b.zip", &level, CompressionMethod::Deflated)]);
    }
    let l = Limits { max_depth: 4, ..Limits::default() };
    let out = run("42.zip", &level, &l);
    assert!(out.leaves.is_empty());
    // 2 + 4 + 8 zips at depths 2..=4, then 16 refused at depth 5.
    assert_eq!(out.skips.len(), 16, "{:?}", out.skip_reasons());
    assert!(out.skips.iter().all(|s| s.kind == SkipKind::Limit));
    assert_eq!(
        out.skips[0].to_string(),
        "42.zip!a.zip!a.zip!a.zip!a.zip: limit max-depth: zip nested more than 4 containers deep"
    );
}

#[test]
fn ratio_bomb_gzip_of_zeros() {
    let zeros = vec![0u8; 32 << 20];
    let bomb = gz(&zeros, None);
    assert!(zeros.len() / bomb.len() > 1000, "the fixture expands {}x", zeros.len() / bomb.len());
    let out = run("z.bin.gz", &bomb, &Limits::default());
    assert_eq!(out.skip_reasons(), ["z.bin.gz!z.bin: limit max-ratio: expands more than 1000x"]);
    assert_eq!(out.skips[0].kind, SkipKind::Limit);
    assert!(out.leaves[0].2.len() < zeros.len());
}

#[test]
fn ratio_is_not_checked_below_the_floor() {
    let out = run("z.gz", &gz(&vec![0u8; 512 << 10], None), &Limits::default());
    assert!(out.skips.is_empty(), "{:?}", out.skip_reasons());
    assert_eq!(out.leaves[0].2.len(), 512 << 10);
}

/// A tar stream of `n` empty members, made as it is read: nothing big is held anywhere.
struct ManyMembers {
    next: u64,
    n: u64,
    block: Vec<u8>,
    pos: usize,
}

impl Read for ManyMembers {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.block.len() {
            self.pos = 0;
            self.block = match self.next.cmp(&self.n) {
                std::cmp::Ordering::Less => {
                    let mut h = tar::Header::new_ustar();
                    h.set_path(format!("m/{:06}", self.next))?;
                    h.set_size(0);
                    h.set_mode(0o644);
                    h.set_cksum();
                    h.as_bytes().to_vec()
                }
                std::cmp::Ordering::Equal => vec![0; 1024],
                std::cmp::Ordering::Greater => return Ok(0),
            };
            self.next += 1;
        }
        let k = buf.len().min(self.block.len() - self.pos);
        buf[..k].copy_from_slice(&self.block[self.pos..self.pos + k]);
        self.pos += k;
        Ok(k)
    }
}

#[test]
fn members_bomb_tar_of_100000() {
    let mut src = ManyMembers { next: 0, n: 100_000, block: Vec::new(), pos: 0 };
    let l = Limits { max_members: 1000, ..Limits::default() };
    let out = run_input(Format::Tar, "many.tar", Input::Stream(&mut src), &l, false);
    assert_eq!(out.skip_reasons(), ["many.tar: limit max-members: more than 1000 members"]);
    assert_eq!(out.leaves.len(), 1000);
    assert!(src.next <= 1002, "read {} headers", src.next);
}

#[test]
fn member_larger_than_max_member_bytes() {
    let mut big = CARD.to_vec();
    big.resize(5000, b'x');
    let t = tar_of(&[("big.log", &big), ("small.csv", CARD)]);
    let l = Limits { max_member_bytes: 1000, ..Limits::default() };
    let out = run("t.tar", &t, &l);
    assert_eq!(out.skip_reasons(), ["t.tar!big.log: limit max-member-bytes: member larger than 1000 bytes"]);
    let part = &out.leaf("t.tar!big.log").2;
    assert!(part.len() <= 1000 && part.starts_with(CARD));
    assert_card(&out, "t.tar!small.csv", &["tar"]);
}

#[test]
fn total_bytes_and_time_and_cancel_stop_the_walk() {
    let block = vec![b'y'; 8000];
    let t = gz(&tar_of(&[("1", &block), ("2", &block), ("3", &block)]), None);
    let l = Limits { max_total_bytes: 10_000, ..Limits::default() };
    let out = run("t.tgz", &t, &l);
    assert_eq!(out.skip_reasons(), ["t.tgz: limit max-total-bytes: expands to more than 10000 bytes"]);
    assert!(out.leaves.len() < 3);

    let l = Limits { max_time: Duration::ZERO, ..Limits::default() };
    let out = run("t.tgz", &t, &l);
    assert_eq!(out.skips.len(), 1);
    assert!(out.skips[0].reason.starts_with("limit max-time: "), "{:?}", out.skip_reasons());

    let out = run_input(Format::Gzip, "t.tgz", Input::Stream(&mut &t[..]), &Limits::default(), true);
    assert!(out.stats.interrupted && out.skips.is_empty() && out.leaves.is_empty());
}

#[test]
fn xz_decoder_memory_limit() {
    let l = Limits { max_decoder_memory: 1 << 20, ..Limits::default() };
    let out = run("x.xz", &xz(CARD, 9), &l);
    assert_eq!(out.skip_reasons(), ["x.xz!x: limit max-decoder-memory: needs more than 1048576 bytes to decode"]);
}

/// Sets the "encrypted" flag of every header (local and central) of the member `name`.
fn mark_encrypted(zip: &mut [u8], name: &[u8]) {
    for i in 0..zip.len().saturating_sub(46) {
        let (flag_at, name_len_at, name_at) = match &zip[i..i + 4] {
            b"PK\x03\x04" => (i + 6, i + 26, i + 30),
            b"PK\x01\x02" => (i + 8, i + 28, i + 46),
            _ => continue,
        };
        let len = usize::from(u16::from_le_bytes([zip[name_len_at], zip[name_len_at + 1]]));
        if zip.get(name_at..name_at + len) == Some(name) {
            zip[flag_at] |= 1;
        }
    }
}

#[test]
fn encrypted_member_is_skipped_and_the_others_read() {
    let mut z = zip_of(&[
        ("a.csv", CARD, CompressionMethod::Stored),
        ("secret.csv", b"ciphertext", CompressionMethod::Stored),
        ("b.csv", CARD, CompressionMethod::Deflated),
    ]);
    mark_encrypted(&mut z, b"secret.csv");
    let out = run("e.zip", &z, &Limits::default());
    assert_eq!(out.skip_reasons(), ["e.zip!secret.csv: encrypted member"]);
    assert_eq!(out.skips[0].kind, SkipKind::Error);
    assert_card(&out, "e.zip!a.csv", &["zip"]);
    assert_card(&out, "e.zip!b.csv", &["zip"]);
}

#[test]
fn truncated_tar_gz_keeps_what_came_before() {
    // Letters from a linear congruential generator: incompressible enough that the cut
    // falls well after the first member.
    let mut x = 1u32;
    let filler: Vec<u8> = (0..20_000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            b'a' + (x >> 16) as u8 % 26
        })
        .collect();
    let t = tar_of(&[("first.csv", CARD), ("second.bin", &filler), ("third.csv", CARD)]);
    let mut g = gz(&t, None);
    g.truncate(g.len() / 2);
    let out = run("cut.tar.gz", &g, &Limits::default());
    assert_card(&out, "cut.tar.gz!first.csv", &["gzip", "tar"]);
    assert!(!out.paths().contains(&"cut.tar.gz!third.csv"));
    assert!(!out.skips.is_empty());
    assert!(out.skips.iter().all(|s| s.kind == SkipKind::Error && s.reason.starts_with("corrupt archive: ")));
}

#[test]
fn zip_without_central_directory_is_read_from_local_headers() {
    let z = zip_of(&[("a.csv", CARD, CompressionMethod::Stored), ("b.csv", CARD, CompressionMethod::Deflated)]);
    let cd = z.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    let cut = &z[..cd];
    let out = run("cut.zip", cut, &Limits::default());
    assert_eq!(out.skips.len(), 1, "{:?}", out.skip_reasons());
    assert!(out.skips[0].reason.starts_with("corrupt archive: "), "{:?}", out.skip_reasons());
    assert_card(&out, "cut.zip!a.csv", &["zip"]);
    assert_card(&out, "cut.zip!b.csv", &["zip"]);
}

#[test]
fn garbage_after_magic_is_corrupt() {
    let mut junk = vec![0x1f, 0x8b, 0x08, 0];
    junk.extend_from_slice(&[0xff; 64]);
    let out = run("j.gz", &junk, &Limits::default());
    assert_eq!(out.skips.len(), 1);
    assert!(out.skips[0].reason.starts_with("corrupt archive: "), "{:?}", out.skip_reasons());
    let out =
        run_input(Format::Zip, "j.zip", Input::Stream(&mut &b"PK\x03\x04 not really"[..]), &Limits::default(), false);
    assert_eq!(out.skips.len(), 1, "{:?}", out.skip_reasons());
}

#[test]
fn sniff_by_magic_not_by_name() {
    assert_eq!(sniff(b"hello, world", "x.zip"), None);
    assert_eq!(sniff(b"hello, world", "x.tar.gz"), None);
    assert_eq!(sniff(&gz(b"x", None), "noext"), Some(Format::Gzip));
    assert_eq!(sniff(&bz2(b"x"), "noext"), Some(Format::Bzip2));
    assert_eq!(sniff(&bz2(b""), "noext"), Some(Format::Bzip2));
    assert_eq!(sniff(&xz(b"x", 0), "noext"), Some(Format::Xz));
    assert_eq!(sniff(&zst(b"x"), "noext"), Some(Format::Zstd));
    assert_eq!(sniff(&zip_of(&[("a", b"x", CompressionMethod::Stored)]), "noext"), Some(Format::Zip));
    let t = tar_of(&[("a", b"x")]);
    assert_eq!(sniff(&t[..512], "noext"), Some(Format::Tar));
    assert_eq!(sniff(&t[..300], "noext"), None);
    // A v7 header (no "ustar" magic) needs both a valid checksum and the name.
    let mut h = tar::Header::new_old();
    h.set_path("a").unwrap();
    h.set_size(1);
    h.set_cksum();
    assert_eq!(sniff(h.as_bytes(), "old.tar"), Some(Format::Tar));
    assert_eq!(sniff(h.as_bytes(), "old.bin"), None);
    let mut bad = *h.as_bytes();
    bad[0] ^= 1;
    assert_eq!(sniff(&bad, "old.tar"), None);
    assert_eq!(sniff(&[0; 512], "zeros.tar"), None);
}

#[test]
fn inner_names() {
    assert_eq!(inner_name("a/x.csv.gz", Format::Gzip), "x.csv");
    assert_eq!(inner_name("a.zip!y.TGZ", Format::Gzip), "y.tar");
    assert_eq!(inner_name("b.tbz2", Format::Bzip2), "b.tar");
    assert_eq!(inner_name("c.tar.zst", Format::Zstd), "c.tar");
    assert_eq!(inner_name("data", Format::Xz), "data");
    assert_eq!(inner_name(".gz", Format::Gzip), ".gz");
}

#[test]
fn every_truncation_and_bit_flip_is_survived() {
    // Not a fuzzer, but every prefix and a sweep of flipped bytes of small fixtures of
    // each format must end in leaves and skips, never a panic or a hang.
    let inner = zip_of(&[("a.csv", CARD, CompressionMethod::Deflated), ("b.csv", CARD, CompressionMethod::Stored)]);
    let tar = tar_of(&[("x.zip", &inner), ("c.csv", CARD)]);
    let fixtures = [
        ("f.zip", inner.clone()),
        ("f.tar", tar.clone()),
        ("f.tar.gz", gz(&tar, Some("f.tar"))),
        ("f.tar.bz2", bz2(&tar)),
        ("f.tar.xz", xz(&tar, 1)),
        ("f.tar.zst", zst(&tar)),
        ("f.7z", sevenz_of(&[("x.zip", &inner), ("c.csv", CARD)], Seven::Plain)),
        ("s.7z", sevenz_of(&[("x.zip", &inner), ("c.csv", CARD)], Seven::Solid)),
    ];
    for (name, data) in &fixtures {
        let Some(format) = sniff(data, name) else { panic!("{name} not sniffed") };
        for cut in 0..data.len() {
            run_input(format, name, Input::Stream(&mut &data[..cut]), &Limits::default(), false);
        }
        for at in (0..data.len()).step_by(7) {
            let mut bad = data.clone();
            bad[at] ^= 0x5a;
            run_input(format, name, Input::Stream(&mut &bad[..]), &Limits::default(), false);
        }
    }
}

#[test]
fn buffered_zips_share_max_buffer_bytes() {
    let inner = zip_of(&[("orders.csv", CARD, CompressionMethod::Stored)]);
    let outer = zip_of(&[("inner.zip", &inner, CompressionMethod::Stored)]);
    let t = tar_of(&[("outer.zip", &outer)]);
    // Room for the outer zip alone, not for the outer and the inner together.
    let l = Limits { max_buffer_bytes: outer.len() as u64 + 10, ..Limits::default() };
    let out = run("t.tar", &t, &l);
    assert!(out.leaves.is_empty());
    assert_eq!(out.skips.len(), 1, "{:?}", out.skip_reasons());
    assert_eq!(out.skips[0].path, "t.tar!outer.zip!inner.zip");
    assert!(out.skips[0].reason.starts_with("limit max-buffer-bytes: "), "{:?}", out.skip_reasons());
    let l = Limits { max_buffer_bytes: (outer.len() + inner.len()) as u64, ..Limits::default() };
    assert_card(&run("t.tar", &t, &l), "t.tar!outer.zip!inner.zip!orders.csv", &["tar", "zip", "zip"]);
}

#[test]
fn sevenz_plain_and_solid_stream_and_seekable() {
    let members: &[(&str, &[u8])] =
        &[("db/", b""), ("a.csv", CARD), ("db/orders.csv", CARD), ("empty.txt", b""), ("c.txt", b"hello")];
    // Directories are members but not leaves; an empty file is an empty leaf.
    for how in [Seven::Plain, Seven::Solid, Seven::Copy, Seven::SolidCopy] {
        let a = sevenz_of(members, how);
        assert_eq!(sniff(&a, "noext"), Some(Format::SevenZ));
        let streamed = run("p.7z", &a, &Limits::default());
        let mut cursor = Cursor::new(a.clone());
        let seek = run_input(Format::SevenZ, "p.7z", Input::Seekable(&mut cursor), &Limits::default(), false);
        for out in [streamed, seek] {
            assert!(out.skips.is_empty(), "{:?}", out.skip_reasons());
            assert_card(&out, "p.7z!a.csv", &["7z"]);
            assert_card(&out, "p.7z!db/orders.csv", &["7z"]);
            assert_eq!(out.leaf("p.7z!c.txt").2, b"hello");
            assert_eq!(out.paths().len(), 4, "{:?}", out.paths());
            assert_eq!(out.stats.members, 5);
        }
    }
}

#[test]
fn sevenz_nested_in_tar_gz_and_zip_inside_7z() {
    let inner = sevenz_of(&[("orders.csv", CARD)], Seven::Plain);
    let t = gz(&tar_of(&[("db/backup.7z", &inner)]), None);
    assert_card(
        &run("site.tar.gz", &t, &Limits::default()),
        "site.tar.gz!db/backup.7z!orders.csv",
        &["gzip", "tar", "7z"],
    );
    let z = zip_of(&[("orders.csv", CARD, CompressionMethod::Deflated)]);
    let outer = sevenz_of(&[("x/inner.zip", &z), ("note.txt", b"hi")], Seven::Solid);
    let out = run("o.7z", &outer, &Limits::default());
    assert_card(&out, "o.7z!x/inner.zip!orders.csv", &["7z", "zip"]);
    assert_eq!(out.leaf("o.7z!note.txt").2, b"hi");
    // A 7z in a stream is held in memory within max-buffer-bytes.
    let l = Limits { max_buffer_bytes: inner.len() as u64 - 1, ..Limits::default() };
    let out = run("site.tar.gz", &t, &l);
    assert!(out.leaves.is_empty());
    assert_eq!(out.skips.len(), 1, "{:?}", out.skip_reasons());
    assert!(out.skips[0].reason.starts_with("limit max-buffer-bytes: "), "{:?}", out.skip_reasons());
}

#[test]
fn sevenz_ratio_bomb_of_zeros() {
    let zeros = vec![0u8; 64 << 20];
    for how in [Seven::Plain, Seven::Solid] {
        let bomb = sevenz_of(&[("zeros.bin", &zeros), ("after.csv", CARD)], how);
        assert!(zeros.len() / bomb.len() > 1000, "the fixture expands {}x", zeros.len() / bomb.len());
        let out = run("z.7z", &bomb, &Limits::default());
        let mut want = vec!["z.7z!zeros.bin: limit max-ratio: expands more than 1000x".to_owned()];
        if how == Seven::Solid {
            // The solid block cannot be read on without decoding the bomb.
            want.push(
                "z.7z!after.csv: limit max-ratio: expands more than 1000x (in an earlier member of its solid block)"
                    .to_owned(),
            );
        } else {
            assert_card(&out, "z.7z!after.csv", &["7z"]);
        }
        assert_eq!(out.skip_reasons(), want);
        assert!(out.skips.iter().all(|s| s.kind == SkipKind::Limit));
        // The ratio is that of everything read so far: it trips near 1000x the packed size
        // (the read that trips is counted, not handed on), well before the end.
        assert!(out.leaf("z.7z!zeros.bin").2.len() < 16 << 20);
        assert!(out.stats.expanded_bytes < 32 << 20, "{}", out.stats.expanded_bytes);
    }
}

#[test]
fn sevenz_member_bytes_limit_does_not_break_the_solid_block() {
    let big = vec![b'x'; 300_000];
    let a = sevenz_of(&[("big.txt", &big), ("after.csv", CARD)], Seven::Solid);
    let l = Limits { max_member_bytes: 100_000, ..Limits::default() };
    let out = run("m.7z", &a, &l);
    assert_eq!(out.skip_reasons(), ["m.7z!big.txt: limit max-member-bytes: member larger than 100000 bytes"]);
    assert_card(&out, "m.7z!after.csv", &["7z"]);
}

fn filler(n: usize) -> Vec<u8> {
    let mut x = 7u32;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            b'a' + (x >> 16) as u8 % 26
        })
        .collect()
}

#[test]
fn sevenz_damage_keeps_the_other_members() {
    let fill = filler(5000);
    let members: &[(&str, &[u8])] = &[("a.csv", CARD), ("b.bin", &fill), ("c.csv", CARD)];
    // One block per file: the damaged member is reported, the others are read.
    let mut a = sevenz_of(members, Seven::Copy);
    let at = a.windows(fill.len()).position(|w| w == fill).unwrap() + 100;
    a[at] ^= 0x20;
    let out = run("d.7z", &a, &Limits::default());
    assert_card(&out, "d.7z!a.csv", &["7z"]);
    assert_card(&out, "d.7z!c.csv", &["7z"]);
    assert_eq!(out.skips.len(), 1, "{:?}", out.skip_reasons());
    assert_eq!(out.skips[0].path, "d.7z!b.bin");
    assert!(out.skips[0].reason.starts_with("corrupt archive: "), "{:?}", out.skip_reasons());
    // One solid block: what came before the damage is kept, the rest is reported.
    let mut a = sevenz_of(members, Seven::SolidCopy);
    let at = a.windows(fill.len()).position(|w| w == fill).unwrap() + 100;
    a[at] ^= 0x20;
    let out = run("s.7z", &a, &Limits::default());
    assert_card(&out, "s.7z!a.csv", &["7z"]);
    assert_eq!(
        out.skip_reasons(),
        [
            "s.7z!b.bin: corrupt archive: checksum mismatch",
            "s.7z!c.csv: corrupt archive: an earlier member of its solid block is damaged"
        ]
    );
    // Truncated: the header is at the end, so nothing is left to read; reported once.
    let a = sevenz_of(members, Seven::Plain);
    for cut in [a.len() / 2, a.len() - 1, 40, 20] {
        let out = run("t.7z", &a[..cut], &Limits::default());
        assert!(out.leaves.is_empty());
        assert_eq!(out.skips.len(), 1, "{:?}", out.skip_reasons());
        assert_eq!(out.skips[0].path, "t.7z");
        assert!(out.skips[0].reason.starts_with("corrupt archive: "), "{:?}", out.skip_reasons());
    }
}

#[test]
fn sevenz_encrypted_member_and_encrypted_archive() {
    let aes = || -> EncoderConfiguration { AesEncoderOptions::new(Password::from("pw")).into() };
    let mut w = ArchiveWriter::new(Cursor::new(Vec::new())).unwrap();
    w.set_encrypt_header(false);
    w.set_content_methods(vec![lzma2()]);
    w.push_archive_entry(ArchiveEntry::new_file("a.csv"), Some(CARD)).unwrap();
    w.set_content_methods(vec![aes(), lzma2()]);
    w.push_archive_entry(ArchiveEntry::new_file("secret.csv"), Some(CARD)).unwrap();
    w.set_content_methods(vec![lzma2()]);
    w.push_archive_entry(ArchiveEntry::new_file("b.csv"), Some(CARD)).unwrap();
    let a = w.finish().unwrap().into_inner();
    let out = run("e.7z", &a, &Limits::default());
    assert_eq!(out.skip_reasons(), ["e.7z!secret.csv: encrypted member"]);
    assert_eq!(out.skips[0].kind, SkipKind::Error);
    assert_card(&out, "e.7z!a.csv", &["7z"]);
    assert_card(&out, "e.7z!b.csv", &["7z"]);

    let mut w = ArchiveWriter::new(Cursor::new(Vec::new())).unwrap();
    w.set_encrypt_header(true);
    w.set_content_methods(vec![aes(), lzma2()]);
    w.push_archive_entry(ArchiveEntry::new_file("secret.csv"), Some(CARD)).unwrap();
    let a = w.finish().unwrap().into_inner();
    let out = run("h.7z", &a, &Limits::default());
    assert_eq!(out.skip_reasons(), ["h.7z: encrypted archive"]);
    assert!(out.leaves.is_empty());
}

#[test]
fn sevenz_members_and_decoder_memory_limits() {
    let members: &[(&str, &[u8])] = &[("a.csv", CARD), ("b.csv", CARD), ("c.csv", CARD), ("d.csv", CARD)];
    for how in [Seven::Plain, Seven::Solid] {
        let a = sevenz_of(members, how);
        let l = Limits { max_members: 2, ..Limits::default() };
        let out = run("n.7z", &a, &l);
        assert_eq!(out.skip_reasons(), ["n.7z: limit max-members: more than 2 members"]);
        assert_eq!(out.paths(), ["n.7z!a.csv", "n.7z!b.csv"]);
        // LZMA2 level 1 has a 1 MiB dictionary (ours are at most 256 KiB).
        let l = Limits { max_decoder_memory: 256 << 10, ..Limits::default() };
        let out = run("m.7z", &a, &l);
        assert!(out.leaves.is_empty());
        assert!(!out.skips.is_empty());
        assert!(
            out.skips.iter().all(|s| s.kind == SkipKind::Limit
                && s.reason == "limit max-decoder-memory: needs more than 262144 bytes to decode"),
            "{:?}",
            out.skip_reasons()
        );
    }
}
