//! `cargo run --release -p bench` (through scripts/bench.sh, which builds
//! everything first): measures throughput, latency, memory, start-up and size
//! of every way this app can be served on this machine, in one run, and
//! writes the table into BENCHMARKS.md. `bench pods` measures one replica of
//! each pod form under containerd (src/pods); `bench soak` a million
//! requests on the runner and `spin up` (src/soak.rs).

mod pods;
mod report;
mod servers;
mod soak;
mod wrk;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;

use crate::report::{Machine, Report};
use crate::servers::Server;

#[derive(Parser)]
#[command(about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    benchmark: Option<Benchmark>,
    #[command(flatten)]
    servers: Args,
}

#[derive(clap::Subcommand)]
enum Benchmark {
    /// One replica of the wasm pod (artifact and plain image) against the
    /// Flask container, under containerd: BENCHMARKS.md, "Per replica".
    Pods(pods::Settings),
    /// A million keep-alive requests on the runner and on `spin up`:
    /// BENCHMARKS.md, "Soak".
    Soak(soak::Settings),
}

/// Every way this app can be served on this machine (no subcommand).
#[derive(clap::Args)]
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
    let cli = Cli::parse();
    match &cli.benchmark {
        Some(Benchmark::Pods(settings)) => return pods::run(settings),
        Some(Benchmark::Soak(settings)) => return soak::run(settings, &servers::release_dir()?),
        None => {}
    }
    let args = cli.servers;
    let repo = harness::repo_root();
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
        harness::benchmarks::write_section(&path, "bench", &markdown).map_err(anyhow::Error::msg)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
