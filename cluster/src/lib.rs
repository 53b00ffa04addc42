//! A one-node Kubernetes 1.35 cluster, built from pinned sources and run on
//! this machine, for the tests and benchmarks that need what only a cluster
//! shows: the kubelet and CRI running a pod through the RuntimeClass, Pod
//! Security admission, Service networking, drains, KEDA and the HPA.
//! docs/test-node.md describes it; `scripts/cluster.sh up|down` runs it.

pub mod apps;
pub mod bench;
pub mod components;
pub mod configs;
pub mod daemons;
pub mod dns;
pub mod gobuild;
pub mod http_add_on;
pub mod images;
pub mod kubectl;
pub mod layout;
pub mod load;
pub mod network;
pub mod node;
pub mod pki;
pub mod pod_leftovers;
pub mod scaling_loop;
pub mod suite;

pub use layout::Layout;
pub use node::{Node, Runtimes};
