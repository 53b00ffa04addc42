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
    /// Take the node down and restore the machine.
    Down,
    /// Build the node's binaries only.
    Build,
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
        }
        Action::Build => cluster::gobuild::build_node(&Layout::new())?,
    }
    Ok(())
}
