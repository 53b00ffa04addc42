//! `bench soak`: a week of a busy pod's traffic in one run. 1,000,000
//! keep-alive requests to `/` at 64 connections, on the runner and then
//! under the real `spin up` with the pods' in-memory store, each on a fresh
//! server; the figures and which bounds were met go to BENCHMARKS.md,
//! "Soak". The soak itself is the harness's, the one the tests run at
//! 50,000 requests (runner/tests/soak.rs).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use harness::benchmarks::Machine;
use harness::server::{Server, runner_command};
use harness::soak::{self, Soak};

#[derive(clap::Args)]
pub struct Settings {
    /// Requests per server.
    #[arg(long, default_value_t = soak::FULL_SIZE)]
    requests: usize,
    /// Write the table into this Markdown file, between its soak markers.
    #[arg(long)]
    write: Option<PathBuf>,
    /// Print the section only (a quick look: --requests 100000 --no-write).
    #[arg(long)]
    no_write: bool,
}

pub fn run(settings: &Settings, release: &Path) -> Result<()> {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    // One after the other, each fresh: two at once on two cores measure each other.
    for name in ["runner", "spin up (in-memory store)"] {
        eprintln!("== {name}: {} requests", settings.requests);
        let server = match name {
            "runner" => {
                // As `cargo run --release` serves spin.toml, without its per-request log line.
                let mut runner = runner_command(&release.join("runner"), &harness::repo_root().join("spin.toml"), &[]);
                runner.env("RUST_LOG", "warn");
                Server::spawn("bench-soak-runner", runner)
            }
            _ => harness::spin_app::app().up("bench-soak-spin-up", &[]),
        };
        let result: Soak = soak::soak(&server, settings.requests);
        drop(server);
        rows.push(result.markdown_row(name));
        notes.extend(result.notes(name).into_iter().map(|note| format!("- {note}")));
        // A lost count is a failure, not a figure.
        ensure!(result.counted == result.requests as f64, "{name} counted {} of {} requests", result.counted, result.requests);
    }
    let machine = Machine::read();
    let table = format!(
        "Measured {} on {} cores ({}), {} requests each at {} connections, by `bench soak`.\n\n{}\n{}\n\n{}",
        machine.date,
        machine.cores,
        machine.cpu,
        settings.requests,
        soak::CONNECTIONS,
        soak::TABLE_HEADER,
        rows.join("\n"),
        notes.join("\n")
    );
    println!("{table}");
    if let Some(path) = settings.write.as_ref().filter(|_| !settings.no_write) {
        harness::benchmarks::write_section(path, "soak", &table).map_err(anyhow::Error::msg).context("BENCHMARKS.md")?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
