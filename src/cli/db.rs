//! `pansweep db`: turns `DbArgs` into a `DbJob` (URLs with their passwords held apart),
//! runs the database pipeline, and decides the exit code.

use std::io::BufRead;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use pansweep::pipeline::{self, Counters, DbJob};
use pansweep::source::db::{DbOptions, DbUrl, Filter};

use super::ExitStatus;
use super::args::{Cli, DbArgs};
use super::progress::Progress;
use super::scan::Session;

/// The password for URLs that hold none: `--password-stdin`, else `PANSWEEP_DB_PASSWORD`.
fn password(a: &DbArgs) -> anyhow::Result<Option<String>> {
    if a.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
        let p = line.trim_end_matches(['\n', '\r']).to_owned();
        if p.is_empty() {
            bail!("--password-stdin: no password on stdin");
        }
        return Ok(Some(p));
    }
    Ok(std::env::var("PANSWEEP_DB_PASSWORD").ok().filter(|p| !p.is_empty()))
}

pub(crate) fn run(cli: &Cli, a: &DbArgs) -> anyhow::Result<ExitStatus> {
    if a.db_connections == 0 {
        bail!("--db-connections must be at least 1");
    }
    if a.sample == Some(0) {
        bail!("--sample must be at least 1");
    }
    if a.urls.is_empty() && a.targets.is_empty() {
        bail!("no database URL: give one or more URLs, or list them under [db] in the config file");
    }
    let password = password(a)?;
    let mut urls = Vec::with_capacity(a.urls.len().max(a.targets.len()));
    for raw in &a.urls {
        urls.push(Arc::new(DbUrl::parse(raw, password.as_deref())?));
    }
    if a.urls.is_empty() {
        // The config file's targets: each password from its file or variable, else the
        // shared one. Errors name the URL (shown without a password) and the source.
        for t in &a.targets {
            let own = t.password().with_context(|| {
                format!("db target {}", DbUrl::parse(&t.url, None).map_or_else(|_| "?".into(), |u| u.to_string()))
            })?;
            let pw = own.as_deref().map(String::as_str).or(password.as_deref());
            urls.push(Arc::new(DbUrl::parse(&t.url, pw)?));
        }
    }
    let mut session = Session::new(cli, &a.report)?;
    let job = DbJob {
        urls,
        filter: Filter {
            schemas: a.schema.clone(),
            tables: a.table.clone(),
            exclude: a.exclude_table.clone(),
            include_views: a.include_views,
        },
        options: DbOptions {
            statement_timeout: Duration::from_secs(a.statement_timeout.max(1)),
            connect_timeout: Duration::from_secs(a.connect_timeout.max(1)),
            sample: a.sample,
            ..DbOptions::default()
        },
        connections: a.db_connections,
        min_confidence: session.min_confidence,
    };
    let counters = Counters::default();
    let mut progress = Progress::new(cli.progress, cli.quiet);
    let outcome = pipeline::run_db(
        &job,
        &session.scanner,
        session.writer.as_mut(),
        &session.run,
        &session.cancel,
        &counters,
        &mut |c| progress.tick(c),
        session.triage.as_mut(),
    );
    progress.finish();
    session.end(cli.quiet, outcome, &counters)
}
