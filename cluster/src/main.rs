//! `cluster up` starts the test node and leaves it running; `cluster down`
//! takes it down and says what, if anything, it could not remove.
//! scripts/cluster.sh runs it with the runtimes it needs.

use anyhow::{Result, bail};
use clap::{Parser, Subcommand};
use cluster::{Layout, Node, Runtimes};

#[derive(Parser)]
#[command(about = "The one-node test cluster (docs/test-node.md)")]
struct Cli {
    #[command(subcommand)]
    command: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Build what is missing and start the node; it keeps running.
    Up,
    /// Take the node down and restore the machine; also a node that a
    /// killed run of another checkout left.
    Down,
    /// Build the node's binaries only.
    Build,
    /// Start a node, measure a replica of each path (BENCHMARKS.md, "On a
    /// real node"), take the node down. Needs SEED_APP.
    Bench {
        /// Starts to measure per path.
        #[arg(long, default_value_t = 10)]
        starts: usize,
        /// Replica counts to read memory at. 18 is the most that two cores
        /// schedule of the container's (100m CPU requested each, and 100m
        /// for CoreDNS).
        #[arg(long, value_delimiter = ',', default_value = "10,18")]
        memory_at: Vec<usize>,
        /// Write the table into this file, between its node markers.
        #[arg(long)]
        write: Option<std::path::PathBuf>,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Action::Up => {
            let node = Node::up(Runtimes::from_env()?)?;
            println!("export KUBECONFIG={}", node.kubectl.kubeconfig.display());
            println!("kubectl 1.35: {}", node.kubectl.binary.display());
            node.keep();
        }
        Action::Down => {
            let left = cluster::node::down(&Layout::new());
            if !left.is_empty() {
                bail!("left after down:\n  {}", left.join("\n  "));
            }
            cluster::node::take_down_a_dead_node()?;
        }
        Action::Build => cluster::gobuild::build_node(&Layout::new())?,
        Action::Bench { starts, memory_at, write } => {
            let seed_app = cluster::apps::seed_app_from_env()?;
            let node = Node::up(Runtimes::from_env()?)?;
            cluster::apps::deliver_images(&node, &seed_app)?;
            cluster::apps::install_crds(&node)?;
            cluster::apps::install_runtime_class(&node)?;
            let settings = cluster::bench::Settings { starts, memory_at };
            let measured = cluster::bench::run(&node, &settings);
            let left = node.down();
            let table = measured?;
            println!("{table}");
            if let Some(file) = write {
                harness::benchmarks::write_section(&file, "node", &table).map_err(anyhow::Error::msg)?;
            }
            if !left.is_empty() {
                bail!("left after down:\n  {}", left.join("\n  "));
            }
        }
    }
    Ok(())
}
