//! `runner`: serves the Spin component that spin.toml describes on wasmtime,
//! the way `spin up` would, without a Spin install.

mod bindings;
mod builder;
mod keyvalue;
mod manifest;
mod outbound;
mod runtime_config;
mod server;
mod toml_file;
mod variables;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::manifest::Application;
use scaling::preview;
use crate::runtime_config::RuntimeConfig;
use crate::server::Runner;
use crate::variables::Variables;

#[derive(Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the component (the default).
    Serve(ServeArgs),
    /// Show live what KEDA would decide: the ScaledObject's query against a
    /// Prometheus, and the replicas that follow.
    Preview(PreviewArgs),
    /// Print a Prometheus configuration that scrapes local runners the way
    /// the ServiceMonitor scrapes the pods.
    ScrapeConfig(ScrapeConfigArgs),
}

#[derive(Args)]
struct PreviewArgs {
    /// The Prometheus to query, e.g. http://127.0.0.1:9090.
    #[arg(long)]
    prometheus: String,
    /// Where the ScaledObject is declared.
    #[arg(long, default_value = "manifests/base")]
    manifests: PathBuf,
    /// Query this instead of the ScaledObject's query.
    #[arg(long)]
    query: Option<String>,
    /// Use this range (e.g. 30s, 2m) in the query's range selector instead of its own.
    #[arg(long)]
    query_window: Option<String>,
    /// Seconds between polls (default: the ScaledObject's pollingInterval).
    #[arg(long)]
    interval: Option<f64>,
    /// Poll once and exit: 0 with a decision, 1 with an error.
    #[arg(long)]
    once: bool,
    /// The replicas running when the preview starts, from which the
    /// modelled HPA goes on (default: the ScaledObject's minReplicaCount).
    #[arg(long)]
    replicas: Option<u32>,
    /// Seconds between the modelled HPA's syncs (default: 15, the
    /// controller manager's --horizontal-pod-autoscaler-sync-period).
    #[arg(long)]
    sync_period: Option<f64>,
    /// Stop after this many seconds.
    #[arg(long)]
    duration: Option<f64>,
    /// Write a time-series chart of the run to this SVG file, after every poll.
    #[arg(long, value_name = "FILE.svg")]
    chart: Option<PathBuf>,
    /// From SECOND of the preview on, RATE req/s are offered (for the chart); repeat for steps.
    #[arg(long, value_name = "SECOND:RATE", value_parser = preview::parse_offered_load)]
    offered_load: Vec<(f64, f64)>,
}

#[derive(Args)]
struct ScrapeConfigArgs {
    /// host:port of a runner, once per simulated pod.
    #[arg(long = "target", required = true)]
    targets: Vec<String>,
    /// Where the ServiceMonitor and Service are declared.
    #[arg(long, default_value = "manifests/base")]
    manifests: PathBuf,
    /// Scrape interval, instead of the ServiceMonitor's (e.g. 1s for tests).
    #[arg(long)]
    interval: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    /// The Spin manifest: what to serve, how to build it, what it may use.
    #[arg(long, default_value = "spin.toml")]
    manifest: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Set an application variable, over SPIN_VARIABLE_<NAME> and the default.
    #[arg(long = "variable", value_name = "NAME=VALUE", value_parser = parse_variable)]
    variables: Vec<(String, String)>,
    /// Where compiled components are cached (default: wasmtime's cache directory).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Requests served at once, one instance each; past it, 503 with
    /// Retry-After. The pooling allocator reserves memory for this many.
    #[arg(long, default_value_t = server::DEFAULT_MAX_INSTANCES, value_parser = clap::value_parser!(u32).range(1..))]
    max_instances: u32,
    /// Spin's runtime configuration, as `spin up --runtime-config-file`
    /// takes it: the runner honours key-value stores kept in memory and
    /// refuses anything else.
    #[arg(long)]
    runtime_config_file: Option<PathBuf>,
}

fn parse_variable(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got {text:?}"))?;
    Ok((name.to_owned(), value.to_owned()))
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,wasmtime_cache=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => serve(args),
        None => serve(cli.serve),
        Some(Command::Preview(args)) => preview::run(
            &args.manifests,
            &args.prometheus,
            preview::Options {
                query: args.query,
                query_window: args.query_window,
                interval: args.interval.map(std::time::Duration::from_secs_f64),
                once: args.once,
                replicas: args.replicas,
                sync_period: args.sync_period,
                duration: args.duration.map(std::time::Duration::from_secs_f64),
                chart: args.chart,
                offered_load: args.offered_load,
            },
        ),
        Some(Command::ScrapeConfig(args)) => {
            print!("{}", scaling::scrape_config::from_manifests(&args.manifests, &args.targets, args.interval.as_deref())?);
            Ok(())
        }
    }
}

fn serve(args: ServeArgs) -> Result<()> {
    let app = Application::load(&args.manifest)?;
    let runtime_config = match &args.runtime_config_file {
        Some(file) => RuntimeConfig::load(file)?,
        None => RuntimeConfig::default(),
    };
    runtime_config
        .check_stores(&app)
        .with_context(|| format!("invalid {}", args.manifest.display()))?;
    builder::ensure_built(&app)?;
    let overrides: BTreeMap<_, _> = args.variables.into_iter().collect();
    let variables = Variables::resolve(&app, &overrides, |name| std::env::var(name).ok())?;

    let engine = server::engine(args.cache_dir.as_deref(), args.max_instances)?;
    let runner = Arc::new(Runner::new(&engine, app.clone(), variables, args.max_instances)?);
    tokio::runtime::Runtime::new()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        server::announce(&app, listener.local_addr()?);
        runner.serve(listener, shutdown_signal()).await
    })
}

/// Ctrl-C, or the SIGTERM a pod or a supervisor sends.
async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
