//! `--format html` in a real browser: reports written by the binary are rendered by
//! headless Chromium (`--dump-dom`), and the DOM after the page's script ran and the
//! console messages Chromium logged are checked against the HTML report contract: the
//! script ran (`data-ready="1"`), nothing reached the console (no exception, no CSP
//! violation), the verdict, the three SVG charts, the stores and findings tables (one row
//! per finding, counted against `--format jsonl` of the same tree), remediation and run
//! sections, and no full generated card number in the file or the DOM. The findings
//! table's text and tier filters and its column sorting are worked from a page that
//! frames the report (`interaction_page`).
//!
//! How console messages are seen: with `--enable-logging=stderr --v=0` this Chromium
//! (Debian's 156) writes each message a page logs to stderr as
//!
//! ```text
//! [7428:7428:1205/171344.833339:INFO:CONSOLE:1] "Uncaught Error: boom", source: file:///tmp/x.html (1)
//! ```
//!
//! (`CONSOLE:<line>`; older builds wrote `CONSOLE(<line>)`). A message with newlines
//! goes on over the following lines until `", source: … (<line>)`. Blocked inline scripts
//! log `Executing inline script violates the following Content Security Policy directive
//! …`, exceptions `Uncaught …`. For ordinary web pages Chromium writes every console level
//! (log, warn, error) as `INFO`, so the level cannot be told from stderr: a report page
//! must leave the console empty, and any message fails the test. The control tests
//! (`harness_*`) prove on hand-written pages that blocked scripts and exceptions are seen
//! and that a clean page logs nothing, so "no console messages" cannot pass vacuously.
//!
//! Chromium is Debian's `chromium` (`scripts/install-test-deps.sh`), or `$PANSWEEP_CHROMIUM`.
//! Without it every test here says `SKIPPED` on stderr and passes, unless
//! `PANSWEEP_REQUIRE_CHROMIUM=1` (CI) makes it fail.

use std::fs;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use pansweep::canary;
use regex::Regex;
use serde_json::Value;

use crate::util::{TestDir, findings, mask_digits, masked, pan, pansweep, pansweep_unprivileged, run, s, scan_jsonl};

/// How long one browser run may take before it is killed and the test fails.
const BROWSER_LIMIT: Duration = Duration::from_mins(1);

/// The browser under test: `$PANSWEEP_CHROMIUM`, else `/usr/bin/chromium`. `None` (after a
/// loud `SKIPPED` line on stderr) when it is missing, or a panic when
/// `PANSWEEP_REQUIRE_CHROMIUM=1`.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PANSWEEP_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var("PANSWEEP_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
        "chromium not found at {} and PANSWEEP_REQUIRE_CHROMIUM=1; run scripts/install-test-deps.sh",
        path.display()
    );
    // Written to the process's stderr, not through eprintln!, so that libtest's output
    // capture does not hide it on a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: chromium not installed; run scripts/install-test-deps.sh (looked for {})",
        path.display()
    );
    None
}

/// One browser at a time: two cores are shared with the rest of the suite, and parallel
/// Chromiums only make each other hit the time limit.
static BROWSER: Mutex<()> = Mutex::new(());

/// Renders `html` in headless Chromium: the DOM after its scripts ran (virtual time
/// budget of 5 s) and the console messages it logged (see the module doc). Kills the
/// browser and fails after [`BROWSER_LIMIT`].
fn render(chrome: &Path, html: &Path) -> (String, Vec<String>) {
    render_within(chrome, html, BROWSER_LIMIT)
}

/// [`render`] with a time limit.
fn render_within(chrome: &Path, html: &Path, limit: Duration) -> (String, Vec<String>) {
    render_with(chrome, html, &[], limit)
}

/// [`render`] with more browser flags and a time limit.
fn render_with(chrome: &Path, html: &Path, extra: &[&str], limit: Duration) -> (String, Vec<String>) {
    let _one = BROWSER.lock().unwrap_or_else(PoisonError::into_inner);
    let scratch = tempfile::Builder::new().prefix("pansweep-chromium-").tempdir().expect("browser temp dir");
    let (out_path, err_path) = (scratch.path().join("dom.html"), scratch.path().join("stderr.txt"));
    let html = html.canonicalize().expect("page path");
    let mut child = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .args(extra)
        .arg(format!("--user-data-dir={}", scratch.path().join("profile").display()))
        .arg(format!("file://{}", html.display()))
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).expect("dom file"))
        .stderr(fs::File::create(&err_path).expect("stderr file"))
        // Its own process group, so that a hung browser is killed with its helpers.
        .process_group(0)
        .spawn()
        .expect("start chromium");
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for chromium") {
            break st;
        }
        if start.elapsed() > limit {
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            let _ = child.kill();
            let _ = child.wait();
            let err = fs::read_to_string(&err_path).unwrap_or_default();
            panic!("chromium did not finish within {limit:?}; stderr:\n{}", mask_digits(&tail(&err, 40)));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let dom = String::from_utf8_lossy(&fs::read(&out_path).expect("read dom")).into_owned();
    let err = String::from_utf8_lossy(&fs::read(&err_path).expect("read stderr")).into_owned();
    assert!(status.success(), "chromium failed ({status}); stderr:\n{}", mask_digits(&tail(&err, 40)));
    assert!(dom.contains("<html"), "chromium dumped no DOM; stderr:\n{}", mask_digits(&tail(&err, 40)));
    (dom, console_messages(&err))
}

/// The last `n` lines of `s`.
fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The console messages in Chromium's stderr log, each as `"text", source: url (line)`.
fn console_messages(stderr: &str) -> Vec<String> {
    let any_log_line = Regex::new(r"^\[[0-9]+:[0-9]+:[0-9]{4}/[0-9]{6}\.[0-9]+:[A-Z0-9_-]+:").unwrap();
    let console_start =
        Regex::new(r"^\[[0-9]+:[0-9]+:[0-9]{4}/[0-9]{6}\.[0-9]+:[A-Z0-9_-]+:CONSOLE(?::[0-9]+|\([0-9]+\))\] (.*)$")
            .unwrap();
    let console_end = Regex::new(r#"", source: .* \([0-9]+\)$"#).unwrap();
    let mut out = Vec::new();
    let mut open: Option<String> = None;
    for line in stderr.lines() {
        if let Some(msg) = open.as_mut()
            && !any_log_line.is_match(line)
        {
            msg.push('\n');
            msg.push_str(line);
            if console_end.is_match(line) {
                out.extend(open.take());
            }
            continue;
        }
        out.extend(open.take());
        if let Some(c) = console_start.captures(line) {
            let msg = c[1].to_string();
            if console_end.is_match(&msg) {
                out.push(msg);
            } else {
                open = Some(msg);
            }
        }
    }
    out.extend(open);
    out
}

/// Whether a console message is an error by its text: an uncaught exception or a
/// Content Security Policy violation (the level itself is not in the log).
fn is_error(msg: &str) -> bool {
    msg.contains("Uncaught") || msg.contains("Content Security Policy") || msg.starts_with("\"Refused to")
}

/// Fails, showing every message (digits masked), unless the page logged nothing.
fn assert_silent_console(what: &str, console: &[String]) {
    assert!(
        console.is_empty(),
        "{what}: the page logged {} console message(s) (errors: {}):\n{}",
        console.len(),
        console.iter().filter(|m| is_error(m)).count(),
        mask_digits(&console.join("\n"))
    );
}

// ---------------------------------------------------------------------------------------
// Reading the DOM Chromium serialised (attributes always double-quoted).

/// The attributes and the inner HTML of the first `<tag … id="id" …>…</tag>` (not nested
/// in itself).
fn element<'a>(dom: &'a str, tag: &str, id: &str) -> Option<(&'a str, &'a str)> {
    let open = Regex::new(&format!(r#"<{tag}\b([^>]*\bid="{}"[^>]*)>"#, regex::escape(id))).unwrap();
    let c = open.captures(dom)?;
    let attrs = c.get(1).unwrap().as_str();
    let rest = &dom[c.get(0).unwrap().end()..];
    let inner = rest.find(&format!("</{tag}>")).map_or(rest, |end| &rest[..end]);
    Some((attrs, inner))
}

/// Like [`element`], failing with a look at the DOM's opening tags when it is missing.
fn must<'a>(dom: &'a str, tag: &str, id: &str) -> (&'a str, &'a str) {
    element(dom, tag, id)
        .unwrap_or_else(|| panic!("no <{tag} id=\"{id}\"> in the rendered DOM; it has: {}", mask_digits(&ids(dom))))
}

/// The `tag#id` of every element with an id, for failure messages.
fn ids(dom: &str) -> String {
    let re = Regex::new(r#"<([a-zA-Z0-9]+)\b[^>]*\bid="([^"]*)""#).unwrap();
    re.captures_iter(dom).map(|c| format!("{}#{}", &c[1], &c[2])).collect::<Vec<_>>().join(" ")
}

/// The value of attribute `name` in an attribute list.
fn attr<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    let re = Regex::new(&format!(r#"(?:^|\s){}="([^"]*)""#, regex::escape(name))).unwrap();
    re.captures(attrs).map(|c| c.get(1).unwrap().as_str())
}

/// The attributes of `<html …>`.
fn html_attrs(dom: &str) -> &str {
    let re = Regex::new(r"<html\b([^>]*)>").unwrap();
    re.captures(dom).map_or_else(|| panic!("no <html> in the DOM"), |c| c.get(1).unwrap().as_str())
}

/// Occurrences of the opening tag `<tag` (as a whole name) in `html`.
fn count_tags(html: &str, tag: &str) -> usize {
    Regex::new(&format!(r"<{tag}[\s>/]")).unwrap().find_iter(html).count()
}

/// The `<tbody>` rows of table `id`.
fn tbody_rows(dom: &str, id: &str) -> usize {
    let (_, table) = must(dom, "table", id);
    let (_, body) = element_any(table, "tbody").unwrap_or_else(|| panic!("table#{id} has no <tbody>"));
    count_tags(body, "tr")
}

/// The attributes and inner HTML of the first `<tag …>…</tag>`.
fn element_any<'a>(html: &'a str, tag: &str) -> Option<(&'a str, &'a str)> {
    let c = Regex::new(&format!(r"<{tag}\b([^>]*)>")).unwrap().captures(html)?;
    let rest = &html[c.get(0).unwrap().end()..];
    let inner = rest.find(&format!("</{tag}>")).map_or(rest, |end| &rest[..end]);
    Some((c.get(1).unwrap().as_str(), inner))
}

/// The classes of `<section id="verdict">`.
fn verdict_class(dom: &str) -> String {
    let (attrs, _) = must(dom, "section", "verdict");
    attr(attrs, "class").unwrap_or("").to_string()
}

/// Fails if `text` holds any of `pans` in full, plain or grouped 4-4-4-4 by a space or `-`.
fn assert_no_full_pan(what: &str, text: &str, pans: &[&str]) {
    for p in pans {
        for form in [p.to_string(), crate::util::grouped(p, " "), crate::util::grouped(p, "-")] {
            assert!(!text.contains(&form), "{what} contains the full number of {}", masked(p));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Controls: the harness sees failures and does not invent them.

/// Writes a throw-away page.
fn page(t: &TestDir, name: &str, html: &str) -> PathBuf {
    t.write(name, html)
}

#[test]
fn harness_reads_console_lines_of_this_chromium_format() {
    // Lines as Chromium 156 writes them (see the module doc), between unrelated log lines.
    let stderr = "/usr/bin/chromium: 9: [: 1: unexpected operator\n\
        [7428:7457:1205/171344.009320:ERROR:dbus/bus.cc:405] Failed to connect to the bus\n\
        [8056:8056:1205/171408.398115:INFO:CONSOLE:9] \"line one\nline two\", source: file:///t/m.html (9)\n\
        [8056:8056:1205/171408.398151:INFO:CONSOLE:10] \"[object Object]\", source: file:///t/m.html (10)\n\
        [8056:8056:1205/171408.415494:INFO:CONSOLE(12)] \"Uncaught TypeError: x\", source: file:///t/m.html (12)\n\
        [7568:7568:1205/171344.630654:WARNING:ui/base/idle/idle_linux.cc:111] None of the known services\n";
    let msgs = console_messages(stderr);
    assert_eq!(
        msgs,
        [
            "\"line one\nline two\", source: file:///t/m.html (9)",
            "\"[object Object]\", source: file:///t/m.html (10)",
            "\"Uncaught TypeError: x\", source: file:///t/m.html (12)",
        ]
    );
    assert!(!is_error(&msgs[0]) && is_error(&msgs[2]));
    // A message cut off by the end of the log is still reported.
    assert_eq!(console_messages("[1:1:0101/000000.1:INFO:CONSOLE:1] \"cut"), ["\"cut"]);
}

#[test]
fn harness_sees_an_inline_script_blocked_by_csp() {
    let Some(chrome) = chromium() else { return };
    let t = TestDir::new();
    let p = page(
        &t,
        "csp.html",
        "<!doctype html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">\
         </head><body><p id=\"x\">before</p>\
         <script>document.getElementById('x').textContent='ran';document.documentElement.dataset.ready='1';</script>\
         </body></html>",
    );
    let (dom, console) = render(&chrome, &p);
    assert!(console.iter().any(|m| is_error(m) && m.contains("Content Security Policy")), "not seen: {console:?}");
    assert!(dom.contains(">before<") && attr(html_attrs(&dom), "data-ready").is_none(), "the script ran: {dom}");
}

#[test]
fn harness_sees_an_uncaught_exception() {
    let Some(chrome) = chromium() else { return };
    let t = TestDir::new();
    // Thrown after the page marked itself ready, from a timer: seen only if the
    // virtual time budget lets timers run before the DOM is dumped.
    let p = page(
        &t,
        "throw.html",
        "<!doctype html><html><body><script>document.documentElement.dataset.ready='1';\
         setTimeout(function () { throw new Error('harness control'); }, 200);</script></body></html>",
    );
    let (dom, console) = render(&chrome, &p);
    assert!(
        console.iter().any(|m| is_error(m) && m.contains("Uncaught Error: harness control")),
        "not seen: {console:?}"
    );
    assert_eq!(attr(html_attrs(&dom), "data-ready"), Some("1"));
}

#[test]
fn harness_sees_nothing_on_a_clean_page_and_returns_the_dom_after_scripts() {
    let Some(chrome) = chromium() else { return };
    let t = TestDir::new();
    // A page shaped like the contract: a hashed inline script under a strict CSP, which
    // builds a table row and marks the document ready.
    let script = "var r=document.createElement('tr');r.textContent='built';\
                  document.querySelector('#t tbody').appendChild(r);document.documentElement.dataset.ready='1';";
    let hash = {
        use sha2::Digest;
        canary::base64(&sha2::Sha256::digest(script.as_bytes()))
    };
    let p = page(
        &t,
        "clean.html",
        &format!(
            "<!doctype html><html lang=\"en\" data-ready><head><meta charset=\"utf-8\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'sha256-{hash}'\">\
             </head><body><table id=\"t\"><tbody></tbody></table><script>{script}</script></body></html>"
        ),
    );
    let (dom, console) = render(&chrome, &p);
    assert_silent_console("clean control page", &console);
    assert_eq!(attr(html_attrs(&dom), "data-ready"), Some("1"), "{dom}");
    assert_eq!(tbody_rows(&dom, "t"), 1, "{dom}");
}

#[test]
fn harness_kills_a_hung_browser_with_its_children() {
    // A stand-in "browser" that starts a helper and never finishes.
    let t = TestDir::new();
    let fake =
        t.write("fake-chromium", "#!/bin/sh\nsleep 300 &\necho $! > \"$(dirname \"$0\")/helper.pid\"\nsleep 300\n");
    t.chmod("fake-chromium", 0o755);
    let p = page(&t, "p.html", "<!doctype html><html></html>");
    let started = Instant::now();
    let hung = std::panic::catch_unwind(|| render_within(&fake, &p, Duration::from_secs(1)));
    let msg = hung.expect_err("a hung browser must fail the test");
    let msg = msg.downcast_ref::<String>().map_or("", String::as_str);
    assert!(msg.contains("did not finish within"), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(30));
    // The helper went with the browser's process group (gone, or a zombie left to init).
    let pid = fs::read_to_string(t.join("helper.pid")).expect("helper pid");
    std::thread::sleep(Duration::from_millis(200));
    let stat = fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    let state = stat.rsplit(") ").next().and_then(|r| r.chars().next());
    assert!(matches!(state, None | Some('Z' | 'X')), "helper still running: {stat}");
}

#[test]
fn harness_reads_a_page_shaped_like_the_contract() {
    // A hand-written page with every part the contract names, so that the report checks
    // below are known to accept Chromium's serialisation of a correct page (and so that a
    // failure of theirs is the report's, not the parser's).
    let Some(chrome) = chromium() else { return };
    let t = TestDir::new();
    let script = "document.querySelector('#findings tbody').insertAdjacentHTML('beforeend', \
                  '<tr><td>b</td></tr><tr><td>c</td></tr>');document.documentElement.dataset.ready='1';";
    let hash = {
        use sha2::Digest;
        canary::base64(&sha2::Sha256::digest(script.as_bytes()))
    };
    let svg = |id: &str| format!("<svg id='{id}' width='10' height='10'><rect width='5' height='5'/></svg>");
    let p = page(
        &t,
        "contract.html",
        &format!(
            "<!doctype html><html lang=en data-ready><head><meta charset=utf-8>\
             <meta http-equiv=Content-Security-Policy content=\"default-src 'none'; script-src 'sha256-{hash}'\">\
             </head><body><section class='verdict-found big' id=verdict>found</section>{}{}{}\
             <table id=stores><thead><tr><th>store</th></tr></thead><tbody><tr><td>./a</td></tr>\
             <tr><td>./z.zip</td></tr></tbody></table><input id=filter>\
             <table id=findings><thead><tr><th>path</th></tr></thead><tbody><tr><td>a</td></tr></tbody></table>\
             <section id=remediation></section><section id=run></section><script>{script}</script></body></html>",
            svg("chart-tier"),
            svg("chart-brand"),
            svg("chart-store")
        ),
    );
    let (dom, console) = render(&chrome, &p);
    assert_silent_console("contract-shaped control page", &console);
    let f = |path: &str| serde_json::json!({"type": "finding", "path": path});
    let found = [f("./a"), f("./a"), f("./z.zip!m.csv")];
    assert_report_structure("contract-shaped control page", &dom, &found.iter().collect::<Vec<_>>());
    assert_eq!(verdict_class(&dom), "verdict-found big");
    assert_eq!(attr(html_attrs(&dom), "lang"), Some("en"));
    // And it notices what is missing.
    let short =
        std::panic::catch_unwind(|| assert_report_structure("short", &dom, &found[..2].iter().collect::<Vec<_>>()));
    assert!(short.is_err(), "one finding too many in table#findings went unnoticed");
}

// ---------------------------------------------------------------------------------------
// The report.

/// A tree with card data: a log with two generated Visa PANs near "card" with an expiry, a
/// CSV with PAN and CVV columns, a file with the public test PAN, and a zip whose member
/// holds a PAN. Returns the tree and the generated PANs.
fn card_tree() -> (TestDir, Vec<String>) {
    let t = TestDir::new();
    let (v1, v2) = (pan("453201", 16, 7101), pan("491761", 16, 7102));
    let (c1, c2) = (pan("455673", 16, 7103), pan("545454", 16, 7104));
    let z = pan("401288", 16, 7105);
    t.write(
        "var/log/shop/app.log",
        format!(
            "2024-10-22 10:00:01 INFO payment ok card={v1} exp=12/29 order=1001\n\
             2024-10-22 10:00:02 INFO charge card number {v2} expiry 03/28 order=1002\n\
             2024-10-22 10:00:03 INFO nothing to see here\n"
        ),
    );
    t.write("exports/orders.csv", format!("order_id,card_number,exp,cvv\n1001,{c1},12/29,123\n1002,{c2},01/30,456\n"));
    t.write("docs/testing.txt", "test card for the sandbox: 4111111111111111\n");
    let zip = canary::zip_of(&[("export/cards.csv", format!("card_number,exp,cvv\n{z},11/27,789\n").as_bytes())])
        .expect("zip");
    t.write("backup/export.zip", zip);
    (t, vec![v1, v2, c1, c2, z])
}

/// `pansweep [pre…] scan -j 1 --format html -o out .` in `dir`; checks the exit code.
fn scan_html(dir: &Path, out: &Path, pre: &[&str], code: i32) {
    let r = run(pansweep()
        .current_dir(dir)
        .args(pre)
        .args(["scan", "-j", "1", "--format", "html", "-o"])
        .arg(out)
        .arg("."));
    assert_eq!(r.code, code, "{}", r.show());
    assert!(out.is_file(), "no report written: {}", r.show());
}

/// The store of a finding: the file on disk (its `path` before the first `!`).
fn store_of(f: &Value) -> String {
    s(f, "path").split('!').next().unwrap_or("").to_string()
}

/// The contract's structure checks on a page that reports `findings`.
fn assert_report_structure(what: &str, dom: &str, found: &[&Value]) {
    assert_eq!(attr(html_attrs(dom), "data-ready"), Some("1"), "{what}: the page's script did not mark it ready");
    for chart in ["chart-tier", "chart-brand", "chart-store"] {
        let (_, svg) = must(dom, "svg", chart);
        assert!(count_tags(svg, "rect") >= 1, "{what}: svg#{chart} has no <rect> bar");
    }
    let mut stores: Vec<String> = found.iter().map(|f| store_of(f)).collect();
    stores.sort();
    stores.dedup();
    assert_eq!(
        tbody_rows(dom, "stores"),
        stores.len(),
        "{what}: table#stores rows vs stores with findings {:?}",
        mask_digits(&stores.join(", "))
    );
    assert_eq!(tbody_rows(dom, "findings"), found.len(), "{what}: table#findings rows vs findings in --format jsonl");
    let (_, table) = must(dom, "table", "findings");
    let (_, head) = element_any(table, "thead").unwrap_or_else(|| panic!("{what}: table#findings has no <thead>"));
    assert!(count_tags(head, "th") >= 1, "{what}: table#findings has no <th> to sort by");
    must(dom, "input", "filter");
    must(dom, "section", "remediation");
    must(dom, "section", "run");
}

#[test]
fn report_with_card_data_renders_every_part_without_console_messages() {
    let Some(chrome) = chromium() else { return };
    let (t, pans) = card_tree();
    let out_dir = TestDir::new();
    let out = out_dir.join("report.html");
    scan_html(t.path(), &out, &[], 1);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 1, "{}", r.show());
    let found = findings(&recs);
    assert!(found.len() >= 6, "the tree should give at least six findings: {}", r.show());
    assert!(found.iter().any(|f| s(f, "class") == "test_pan"), "{}", r.show());
    assert!(found.iter().any(|f| s(f, "path").contains(".zip!")), "{}", r.show());

    let file = String::from_utf8_lossy(&fs::read(&out).unwrap()).into_owned();
    let pan_refs: Vec<&str> = pans.iter().map(String::as_str).collect();
    assert_no_full_pan("the HTML file", &file, &pan_refs);
    assert!(
        Regex::new(r#"<meta[^>]*http-equiv="?Content-Security-Policy"?[^>]*sha256-"#).unwrap().is_match(&file),
        "no CSP meta tag with a script hash"
    );

    let (dom, console) = render(&chrome, &out);
    assert_silent_console("report with card data", &console);
    assert_no_full_pan("the rendered DOM", &dom, &pan_refs);
    assert_eq!(attr(html_attrs(&dom), "lang"), Some("en"));
    let verdict = verdict_class(&dom);
    assert!(verdict.split_whitespace().any(|c| c == "verdict-found"), "verdict class {verdict:?}");
    assert_report_structure("report with card data", &dom, &found);
    // What a reader is shown of a number: its masked form.
    assert!(dom.contains(&masked(&pans[0])), "the masked PAN is not shown");
}

#[test]
fn clean_tree_renders_the_clean_verdict() {
    let Some(chrome) = chromium() else { return };
    let t = TestDir::new();
    t.write("notes.txt", "order 1001 shipped on 2024-10-22, invoice 20241022-0001\n");
    t.write("data/items.csv", "sku,qty,price\nA-1,2,1200\nB-7,1,980\n");
    let out_dir = TestDir::new();
    let out = out_dir.join("clean.html");
    scan_html(t.path(), &out, &[], 0);
    let (dom, console) = render(&chrome, &out);
    assert_silent_console("clean report", &console);
    assert_eq!(attr(html_attrs(&dom), "data-ready"), Some("1"), "the page's script did not mark it ready");
    let verdict = verdict_class(&dom);
    assert!(verdict.split_whitespace().any(|c| c == "verdict-clean"), "verdict class {verdict:?}");
    assert_eq!(tbody_rows(&dom, "findings"), 0);
    must(&dom, "section", "remediation");
    must(&dom, "section", "run");
}

#[test]
fn unreadable_file_and_no_findings_renders_the_partial_verdict() {
    let Some(chrome) = chromium() else { return };
    let Some(mut cmd) = pansweep_unprivileged() else { return };
    let t = TestDir::new();
    t.write("ok.txt", "nothing here\n");
    t.write("locked.txt", "nothing here either\n");
    t.chmod("locked.txt", 0o000);
    let out_dir = TestDir::new();
    out_dir.chmod(".", 0o777); // the unprivileged scan writes its report here
    let out = out_dir.join("partial.html");
    let r = run(cmd.current_dir(t.path()).args(["scan", "-j", "1", "--format", "html", "-o"]).arg(&out).arg("."));
    assert_eq!(r.code, 3, "{}", r.show());
    let (dom, console) = render(&chrome, &out);
    assert_silent_console("partial report", &console);
    assert_eq!(attr(html_attrs(&dom), "data-ready"), Some("1"));
    let verdict = verdict_class(&dom);
    assert!(verdict.split_whitespace().any(|c| c == "verdict-partial"), "verdict class {verdict:?}");
}

#[test]
fn japanese_report_renders() {
    let Some(chrome) = chromium() else { return };
    let (t, pans) = card_tree();
    let out_dir = TestDir::new();
    let out = out_dir.join("ja.html");
    scan_html(t.path(), &out, &["--lang", "ja"], 1);
    let (_, recs) = scan_jsonl(t.path(), &["."]);
    let (dom, console) = render(&chrome, &out);
    assert_silent_console("Japanese report", &console);
    assert_eq!(attr(html_attrs(&dom), "lang"), Some("ja"));
    let pan_refs: Vec<&str> = pans.iter().map(String::as_str).collect();
    assert_no_full_pan("the Japanese DOM", &dom, &pan_refs);
    assert!(dom.chars().any(|c| ('\u{3040}'..='\u{30ff}').contains(&c)), "no kana in the Japanese report");
    assert_report_structure("Japanese report", &dom, &findings(&recs));
}

/// A page that loads the report `report` (same directory) in an iframe, works its
/// findings table as a reader would — text filter `query`, a filter that matches nothing,
/// each tier option, a click on every column head (twice) — and writes what it saw as JSON
/// into `<pre id="result">`. Needs `--allow-file-access-from-files` (a file page may then
/// reach into a file frame); the report itself runs unchanged under its own CSP.
fn interaction_page(report: &str, query: &str) -> String {
    let script = r"
var out = document.getElementById('result');
document.getElementById('report').addEventListener('load', function () {
  var res = {};
  try {
    var d = this.contentDocument;
    res.ready = d.documentElement.getAttribute('data-ready');
    var body = d.querySelector('#findings tbody');
    var rows = function () { return Array.prototype.slice.call(body.rows); };
    var shown = function () { return rows().filter(function (r) { return !r.hidden && r.getClientRects().length > 0; }).length; };
    res.total = rows().length;
    res.shown_at_start = shown();
    var filter = d.getElementById('filter');
    var type = function (q) { filter.value = q; filter.dispatchEvent(new Event('input', {bubbles: true})); };
    type(QUERY); res.shown_for_query = shown();
    type('no such text anywhere'); res.shown_for_nothing = shown();
    type(''); res.shown_after_clearing = shown();
    res.tiers = {};
    var tier = d.getElementById('tier-filter');
    if (tier) {
      Array.prototype.forEach.call(tier.options, function (o) {
        if (!o.value) { return; }
        tier.value = o.value; tier.dispatchEvent(new Event('change', {bubbles: true}));
        res.tiers[o.textContent.trim().toLowerCase()] = shown();
      });
      tier.value = ''; tier.dispatchEvent(new Event('change', {bubbles: true}));
    }
    var key = function (cell) {
      var v = cell.getAttribute('data-v');
      if (v !== null && v !== '' && !isNaN(v)) { return {n: Number(v)}; }
      return {s: cell.textContent.trim().toLowerCase()};
    };
    var cmp = function (a, b) {
      if (a.n !== undefined && b.n !== undefined) { return a.n - b.n; }
      var x = a.s !== undefined ? a.s : String(a.n), y = b.s !== undefined ? b.s : String(b.n);
      return x < y ? -1 : x > y ? 1 : 0;
    };
    res.sorted = [];
    var heads = d.querySelectorAll('#findings thead th');
    Array.prototype.forEach.call(heads, function (th, col) {
      [1, 2].forEach(function () {
        th.click();
        var dir = th.getAttribute('aria-sort') === 'descending' ? -1 : 1;
        var ks = rows().map(function (r) { return key(r.cells[col]); });
        var ok = rows().length === res.total;
        for (var i = 1; i < ks.length; i++) { if (dir * cmp(ks[i - 1], ks[i]) > 0) { ok = false; } }
        res.sorted.push({col: col, dir: th.getAttribute('aria-sort'), ok: ok});
      });
    });
  } catch (e) { res.error = String(e); }
  out.textContent = JSON.stringify(res);
});
"
    .replace("QUERY", &serde_json::to_string(query).unwrap());
    format!(
        "<!doctype html><html><body><pre id=\"result\">pending</pre>\
         <iframe id=\"report\" src=\"{report}\" width=\"1200\" height=\"800\"></iframe><script>{script}</script></body></html>"
    )
}

#[test]
fn findings_table_filters_and_sorts_in_the_browser() {
    let Some(chrome) = chromium() else { return };
    let (t, pans) = card_tree();
    let out_dir = TestDir::new();
    let out = out_dir.join("report.html");
    scan_html(t.path(), &out, &[], 1);
    let (_, recs) = scan_jsonl(t.path(), &["."]);
    let found = findings(&recs);
    let query = masked(&pans[2]);
    let want_query = found.iter().filter(|f| s(f, "masked") == query).count();
    assert_eq!(want_query, 1, "one finding for the CSV's first number");
    let harness = out_dir.write("interact.html", interaction_page("report.html", &query));
    let (dom, console) = render_with(&chrome, &harness, &["--allow-file-access-from-files"], BROWSER_LIMIT);
    assert_silent_console("report worked in an iframe", &console);
    let raw = element(&dom, "pre", "result").map(|(_, inner)| inner).expect("the harness page's result");
    let raw = raw.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    let res: Value = serde_json::from_str(&raw).unwrap_or_else(|e| panic!("harness result {raw:?}: {e}"));
    assert!(res.get("error").is_none(), "the harness page failed: {res}");
    assert_eq!(res["ready"], "1", "{res}");
    let n = found.len();
    assert_eq!(res["total"], n, "{res}");
    assert_eq!(res["shown_at_start"], n, "every row shown before filtering: {res}");
    assert_eq!(res["shown_for_query"], want_query, "filtering by a masked number: {res}");
    assert_eq!(res["shown_for_nothing"], 0, "a filter matching nothing: {res}");
    assert_eq!(res["shown_after_clearing"], n, "clearing the filter: {res}");
    // The tier filter (docs/report-format.md: "filterable by text and tier").
    let count = |pred: &dyn Fn(&Value) -> bool| found.iter().filter(|f| pred(f)).count();
    let card = |f: &Value| matches!(s(f, "class"), "pan" | "track1" | "track2");
    let tiers = res["tiers"].as_object().unwrap_or_else(|| panic!("no tier filter: {res}"));
    for (label, want) in [
        ("critical", count(&|f| card(f) && s(f, "confidence") == "critical")),
        ("high", count(&|f| card(f) && s(f, "confidence") == "high")),
        ("medium", count(&|f| card(f) && s(f, "confidence") == "medium")),
        ("low", count(&|f| card(f) && s(f, "confidence") == "low")),
        ("test", count(&|f| s(f, "class") == "test_pan")),
        ("masked", count(&|f| s(f, "class") == "masked_pan")),
    ] {
        assert_eq!(tiers.get(label).and_then(Value::as_u64), Some(want as u64), "tier filter {label:?}: {res}");
    }
    // Every column sorts, both ways, and keeps every row.
    let sorted = res["sorted"].as_array().expect("sort results");
    assert!(sorted.len() >= 2, "no column heads were clicked: {res}");
    for x in sorted {
        assert_eq!(x["ok"], true, "column {} not in {} order after a click: {res}", x["col"], x["dir"]);
    }
    let dirs: Vec<&str> = sorted.iter().take(2).map(|x| x["dir"].as_str().unwrap_or("")).collect();
    assert!(dirs.contains(&"ascending") && dirs.contains(&"descending"), "a second click reverses: {res}");
}

/// Rewrites the `host` of the run record of a JSONL file, as if it came from `host`.
fn set_host(file: &Path, host: &str) {
    let text = fs::read_to_string(file).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut run: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(run["type"], "run");
    run["host"] = host.into();
    lines[0] = run.to_string();
    fs::write(file, lines.join("\n") + "\n").unwrap();
}

#[test]
fn merged_fleet_report_renders() {
    let Some(chrome) = chromium() else { return };
    let t = TestDir::new();
    let (a, b, shared) = (pan("453201", 16, 7201), pan("545454", 16, 7202), pan("371449", 15, 7203));
    let key = t.write("key", [9u8; 32]);
    t.write("h1/var/log/app.log", format!("card number {a} exp 12/27\npayment card {shared}\n"));
    t.write("h2/var/log/app.log", format!("card number {b} exp 01/28\npayment card {shared}\n"));
    t.write("h2/export/orders.csv", format!("card_number,exp,cvv\n{b},01/28,321\n"));
    let (web1, web2) = (t.join("web1.jsonl"), t.join("web2.jsonl"));
    for (dir, file) in [("h1", &web1), ("h2", &web2)] {
        let r = run(pansweep()
            .current_dir(t.join(dir))
            .args(["scan", "-j", "1", "--format", "jsonl", "--fingerprint-key"])
            .arg(&key)
            .arg("-o")
            .arg(file)
            .arg("."));
        assert_eq!(r.code, 1, "{}", r.show());
    }
    set_host(&web1, "web1");
    set_host(&web2, "web2");
    let fleet = t.join("fleet.html");
    let r = run(pansweep().args(["report", "--format", "html", "-o"]).arg(&fleet).arg(&web1).arg(&web2));
    assert_eq!(r.code, 1, "{}", r.show());
    let merged = run(pansweep().args(["report", "--format", "jsonl"]).arg(&web1).arg(&web2));
    let recs = merged.jsonl();
    let file = String::from_utf8_lossy(&fs::read(&fleet).unwrap()).into_owned();
    assert_no_full_pan("the fleet HTML file", &file, &[&a, &b, &shared]);
    let (dom, console) = render(&chrome, &fleet);
    assert_silent_console("fleet report", &console);
    assert_no_full_pan("the fleet DOM", &dom, &[&a, &b, &shared]);
    let verdict = verdict_class(&dom);
    assert!(verdict.split_whitespace().any(|c| c == "verdict-found"), "verdict class {verdict:?}");
    assert_report_structure("fleet report", &dom, &findings(&recs));
}
