//! `cargo run --release -p bench` (through scripts/bench.sh, which builds
//! everything first): measures throughput, latency, memory, start-up and size
//! of every way this app can be served on this machine, in one run, and
//! writes the table into BENCHMARKS.md.

mod report;
mod servers;
mod wrk;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;

use crate::report::{Machine, Report};
use crate::servers::Server;

#[derive(Parser)]
#[command(about)]
struct Args {
    /// Seconds of load per measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Connection counts to measure at.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    connections: Vec<u32>,
    /// Measure this running server instead (e.g. `spin up`, or a pod through
    /// `kubectl port-forward`): its `/` and `/metrics`, nothing else.
    #[arg(long)]
    url: Option<String>,
    /// Write the table into this Markdown file, between its bench markers.
    #[arg(long)]
    write: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let duration = Duration::from_secs(args.seconds);
    let machine = Machine::read()?;

    let report = match &args.url {
        Some(url) => {
            let mut report = Report::new(machine, duration);
            report.measure_url("given URL", url, &args.connections, duration)?;
            report
        }
        None => {
            let mut report = Report::new(machine, duration);
            for server in Server::all(&repo) {
                eprintln!("== {}", server.name);
                report.measure_server(&server, &args.connections, duration)?;
            }
            report
        }
    };
    let markdown = report.markdown();
    println!("{markdown}");
    if let Some(path) = args.write {
        report::write_between_markers(&path, &markdown)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
