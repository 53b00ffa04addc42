//! Where the test node lives: its addresses, interfaces and directories.
//!
//! Kubernetes refuses loopback for the API server's advertise address and
//! the node's IP, and nothing of the node may listen on the machine's own
//! addresses. So the node gets an address of its own on an interface that
//! `up` creates, and every component binds to it; the pods live on a
//! bridge of their own. The ranges are private and unlikely to be in use;
//! `up` stops if one is.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// The node's name, as it registers with the API server.
pub const NODE_NAME: &str = "keda-test-node";
/// The interface that holds the node's address: a bridge without ports.
pub const NODE_INTERFACE: &str = "ksa-node0";
/// The node's address: the API server, etcd, the kubelet, kube-proxy's
/// NodePorts and the registry all bind here.
pub const NODE_IP: Ipv4Addr = Ipv4Addr::new(10, 213, 0, 1);
/// The pods' bridge and subnet (the CNI bridge plugin with host-local IPAM).
pub const POD_BRIDGE: &str = "ksa-cni0";
pub const POD_SUBNET: &str = "10.214.0.0/24";
/// Service ClusterIPs, the `kubernetes` Service's and cluster DNS's among them.
pub const SERVICE_SUBNET: &str = "10.215.0.0/24";
pub const KUBERNETES_SERVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 215, 0, 1);
pub const DNS_SERVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 215, 0, 10);
pub const CLUSTER_DOMAIN: &str = "cluster.local";

pub const API_SERVER_PORT: u16 = 6443;
pub const ETCD_PORT: u16 = 2379;
pub const ETCD_PEER_PORT: u16 = 2380;
pub const KUBELET_HEALTHZ_PORT: u16 = 10248;
pub const KUBE_PROXY_HEALTHZ_PORT: u16 = 10256;
/// The registry behind the containerd mirror that serves images pulled with
/// `imagePullPolicy: Always`.
pub const REGISTRY_PORT: u16 = 5000;

/// The one record outside the checkout: which checkout's node holds the
/// interfaces above. The interfaces are the machine's, not a checkout's, so
/// a node left by a killed run (a CI job or session ended with SIGKILL) in
/// one clone would otherwise stop every later `up`, from any clone, with no
/// way to tell where its mounts and processes are. Under /run, so it goes
/// with the interfaces at a reboot.
pub const NODE_CLAIM: &str = "/run/keda-spin-autoscaling-test-node";

/// The names images built here go by on the node.
pub const PAUSE_IMAGE: &str = "localhost/keda-test-node/pause:1.0";
pub const COREDNS_IMAGE: &str = "localhost/keda-test-node/coredns:1.13.1";

/// The directories of the node below cargo's target directory.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Everything of the node.
    pub root: PathBuf,
}

impl Layout {
    pub fn new() -> Layout {
        Layout { root: harness::target_dir().join("test-node") }
    }

    /// The node of another checkout, at its `root`.
    pub fn at(root: PathBuf) -> Layout {
        Layout { root }
    }

    /// Binaries built from the Go modules and the pause program; kept
    /// between runs (Go's cache decides what to rebuild).
    pub fn bin(&self) -> PathBuf {
        self.root.join("bin")
    }

    pub fn binary(&self, name: &str) -> PathBuf {
        self.bin().join(name)
    }

    /// Image archives and the Flask container's root file system; kept
    /// between runs.
    pub fn images(&self) -> PathBuf {
        self.root.join("images")
    }

    /// The state of one `up`: certificates, configs, data, logs. `down`
    /// empties it.
    pub fn run(&self) -> PathBuf {
        self.root.join("run")
    }

    pub fn pki(&self) -> PathBuf {
        self.run().join("pki")
    }

    pub fn logs(&self) -> PathBuf {
        self.run().join("logs")
    }

    pub fn log(&self, component: &str) -> PathBuf {
        self.logs().join(format!("{component}.log"))
    }

    pub fn pids(&self) -> PathBuf {
        self.run().join("pids")
    }

    pub fn config(&self, name: &str) -> PathBuf {
        self.run().join("config").join(name)
    }

    pub fn kubeconfig(&self, user: &str) -> PathBuf {
        self.config(&format!("{user}.kubeconfig"))
    }

    pub fn containerd(&self) -> PathBuf {
        self.run().join("containerd")
    }

    pub fn containerd_socket(&self) -> PathBuf {
        self.containerd().join("containerd.sock")
    }

    pub fn kubelet_root(&self) -> PathBuf {
        self.run().join("kubelet")
    }

    /// What `up` recorded of the machine, for `down` to put back.
    pub fn saved(&self, name: &str) -> PathBuf {
        self.run().join("saved").join(name)
    }

    /// The Go modules, one per upstream project (cluster/go/NAME).
    pub fn go_module(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("go").join(name)
    }

    /// Files of ours that `up` reads: the pause program, CoreDNS's objects.
    pub fn source(relative: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
    }
}

impl Default for Layout {
    fn default() -> Self {
        Layout::new()
    }
}
