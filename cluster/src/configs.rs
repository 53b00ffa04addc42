//! The configuration files of the node's components, written at `up` into
//! the run folder: kubeconfigs, the kubelet's and kube-proxy's
//! configurations, containerd's config with the repository's `spin` runtime
//! merged in, its registry mirror, and the CNI network.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;

use crate::layout::{
    API_SERVER_PORT, CLUSTER_DOMAIN, DNS_SERVICE_IP, KUBE_PROXY_HEALTHZ_PORT, KUBELET_HEALTHZ_PORT, Layout, NODE_IP, NODE_NAME,
    PAUSE_IMAGE, POD_BRIDGE, POD_SUBNET, REGISTRY_PORT, SERVICE_SUBNET,
};

/// The registry hosts whose images the node pulls from the local registry
/// instead: the container path's image is `docker.io/...`.
pub const MIRRORED_REGISTRIES: &[&str] = &["docker.io"];

pub fn api_server_url() -> String {
    format!("https://{NODE_IP}:{API_SERVER_PORT}")
}

pub fn write_all(layout: &Layout) -> Result<()> {
    std::fs::create_dir_all(layout.config(""))?;
    for user in ["admin", "controller-manager", "scheduler", "kubelet-client", "kube-proxy"] {
        write(&layout.kubeconfig(user), &kubeconfig(layout, user))?;
    }
    write(&layout.config("kubelet.yaml"), &kubelet(layout))?;
    // The pods' resolver configuration for dnsPolicy Default: no upstream,
    // since nothing may leave the machine; cluster-first pods ask CoreDNS.
    write(&layout.config("resolv.conf"), "# the test node has no upstream resolver\n")?;
    write(&layout.config("kube-proxy.yaml"), &kube_proxy(layout))?;
    write(&layout.config("containerd.toml"), &containerd(layout)?)?;
    for registry in MIRRORED_REGISTRIES {
        let hosts = layout.containerd().join("certs.d").join(registry).join("hosts.toml");
        write(&hosts, &registry_mirror())?;
    }
    let network = layout.run().join("cni/net.d/10-keda-test-node.conflist");
    write(&network, &serde_json::to_string_pretty(&cni_network(layout))?)?;
    Ok(())
}

fn write(path: &Path, contents: &str) -> Result<()> {
    std::fs::create_dir_all(path.parent().unwrap())?;
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

/// A kubeconfig for `user`, with the certificate files `pki` wrote for it.
fn kubeconfig(layout: &Layout, user: &str) -> String {
    let pki = layout.pki();
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": NODE_NAME, "cluster": {
            "server": api_server_url(),
            "certificate-authority": pki.join("ca.crt"),
        }}],
        "users": [{"name": user, "user": {
            "client-certificate": pki.join(format!("{user}.crt")),
            "client-key": pki.join(format!("{user}.key")),
        }}],
        "contexts": [{"name": NODE_NAME, "context": {"cluster": NODE_NAME, "user": user}}],
        "current-context": NODE_NAME,
    });
    serde_yaml_ng::to_string(&config).unwrap()
}

fn kubelet(layout: &Layout) -> String {
    let pki = layout.pki();
    let config = json!({
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP.to_string(),
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": NODE_IP.to_string(),
        "healthzPort": KUBELET_HEALTHZ_PORT,
        "authentication": {
            "anonymous": {"enabled": false},
            "webhook": {"enabled": true},
            "x509": {"clientCAFile": pki.join("ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": pki.join("kubelet.crt"),
        "tlsPrivateKeyFile": pki.join("kubelet.key"),
        "containerRuntimeEndpoint": format!("unix://{}", layout.containerd_socket().display()),
        // The machine has cgroup v1 (hybrid) and no systemd; 1.35 refuses
        // cgroup v1 unless told otherwise.
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": false,
        "failSwapOn": false,
        "clusterDNS": [DNS_SERVICE_IP.to_string()],
        "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": layout.config("resolv.conf"),
        // The images are built here and cannot be pulled again: never
        // collect them, whatever the disk's use.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        // A developer's disk may be fuller than the defaults' 10-15 %
        // allow; evict only when the machine itself is about to run out.
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1%",
        },
        "serializeImagePulls": false,
        "maxPods": 110,
    });
    serde_yaml_ng::to_string(&config).unwrap()
}

fn kube_proxy(layout: &Layout) -> String {
    let config = json!({
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": layout.kubeconfig("kube-proxy")},
        "hostnameOverride": NODE_NAME,
        "bindAddress": NODE_IP.to_string(),
        "healthzBindAddress": format!("{NODE_IP}:{KUBE_PROXY_HEALTHZ_PORT}"),
        "metricsBindAddress": format!("{NODE_IP}:10249"),
        "mode": "iptables",
        "clusterCIDR": POD_SUBNET,
        // NodePorts on the node's address only, not on every address of
        // the machine.
        "nodePortAddresses": [format!("{NODE_IP}/32")],
        "iptables": {"localhostNodePorts": false, "minSyncPeriod": "1s", "syncPeriod": "30s"},
        // Zero leaves the machine's conntrack sysctls as they are.
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    });
    serde_yaml_ng::to_string(&config).unwrap()
}

/// containerd 1.7's config (version 2): the CRI plugin with runc as the
/// default runtime, the pause image built here, the CNI network below, the
/// mirror folder, and the runtime of runtime-class/containerd-1.x.toml
/// merged in as it is, so that the node runs what docs/kubernetes.md tells users
/// to put into /etc/containerd/config.toml.
fn containerd(layout: &Layout) -> Result<String> {
    let dir = layout.containerd();
    let cri = json!({
        "sandbox_image": PAUSE_IMAGE,
        "stream_server_address": NODE_IP.to_string(),
        // The kubelet asks for negative OOM score adjustments (-998 for
        // sandboxes), which need CAP_SYS_RESOURCE; a machine whose root
        // lacks it (a VM sandbox, rootless) gets containerd's own instead.
        "restrict_oom_score_adj": true,
        "containerd": {
            "default_runtime_name": "runc",
            "runtimes": {"runc": {"runtime_type": "io.containerd.runc.v2"}},
        },
        "cni": {"bin_dir": "/usr/lib/cni", "conf_dir": layout.run().join("cni/net.d")},
        "registry": {"config_path": dir.join("certs.d")},
    });
    let config = json!({
        "version": 2,
        "root": dir.join("root"),
        "state": dir.join("state"),
        "grpc": {"address": layout.containerd_socket()},
        "plugins": {
            "io.containerd.grpc.v1.cri": cri,
            "io.containerd.internal.v1.opt": {"path": dir.join("opt")},
        },
    });
    let mut table: toml::Table = toml::Table::try_from(config)?;
    let snippet = repository_file("runtime-class/containerd-1.x.toml");
    let runtime: toml::Table = std::fs::read_to_string(&snippet)
        .with_context(|| format!("reading {}", snippet.display()))?
        .parse()
        .with_context(|| format!("parsing {}", snippet.display()))?;
    harness::containerd::merge(&mut table, &runtime);
    Ok(toml::to_string(&table)?)
}

/// containerd's hosts.toml for a mirrored registry: every pull goes to the
/// local registry, and nothing is asked of the real one.
fn registry_mirror() -> String {
    let local = format!("http://{NODE_IP}:{REGISTRY_PORT}");
    format!(
        "# The test node pulls from its own registry: no other can be reached.\n\
         server = \"{local}\"\n\n[host.\"{local}\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
    )
}

/// A bridge with host-local addresses. The pods' only routes are to the
/// node and the Services, so that nothing a pod sends can leave the machine.
fn cni_network(layout: &Layout) -> serde_json::Value {
    let gateway = POD_SUBNET.replace("0/24", "1");
    json!({
        "cniVersion": "1.0.0",
        "name": "keda-test-node",
        "plugins": [{
            "type": "bridge",
            "bridge": POD_BRIDGE,
            "isGateway": true,
            "ipMasq": false,
            // A pod that reaches itself through its Service.
            "hairpinMode": true,
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": POD_SUBNET, "gateway": gateway}]],
                "routes": [{"dst": format!("{NODE_IP}/32")}, {"dst": SERVICE_SUBNET}],
                "dataDir": layout.run().join("cni/ipam"),
            },
        }],
    })
}

/// A file of the repository.
pub fn repository_file(relative: &str) -> std::path::PathBuf {
    harness::repo_root().join(relative)
}
