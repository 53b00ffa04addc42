//! The command line of each of the node's processes. The flags are those a
//! kubeadm control-plane node sets, pointed at the node's address and the
//! run folder; where a flag differs from kubeadm's, a comment says why.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::configs::api_server_url;
use crate::layout::{ETCD_PEER_PORT, ETCD_PORT, Layout, NODE_IP, NODE_NAME, REGISTRY_PORT, SERVICE_SUBNET};

fn command(program: PathBuf, args: &[String]) -> Command {
    let mut command = Command::new(program);
    command.args(args);
    command
}

fn path(path: impl AsRef<Path>) -> String {
    path.as_ref().display().to_string()
}

pub fn etcd(layout: &Layout) -> Command {
    let client = format!("http://{NODE_IP}:{ETCD_PORT}");
    let peer = format!("http://{NODE_IP}:{ETCD_PEER_PORT}");
    command(
        layout.binary("etcd"),
        &[
            format!("--name={NODE_NAME}"),
            format!("--data-dir={}", path(layout.run().join("etcd"))),
            format!("--listen-client-urls={client}"),
            format!("--advertise-client-urls={client}"),
            format!("--listen-peer-urls={peer}"),
            format!("--initial-advertise-peer-urls={peer}"),
            format!("--initial-cluster={NODE_NAME}={peer}"),
            // Its metrics listener would default to the client URL's port
            // on every address; keep it on the client URL.
            "--listen-metrics-urls=".into(),
            // The cluster lives for one test run: durability buys nothing
            // and fsync costs seconds on a loaded disk.
            "--unsafe-no-fsync".into(),
            "--log-level=warn".into(),
        ],
    )
}

pub fn api_server(layout: &Layout) -> Command {
    let pki = |name: &str| path(layout.pki().join(name));
    command(
        layout.binary("kube-apiserver"),
        &[
            format!("--etcd-servers=http://{NODE_IP}:{ETCD_PORT}"),
            format!("--advertise-address={NODE_IP}"),
            format!("--bind-address={NODE_IP}"),
            "--secure-port=6443".into(),
            format!("--service-cluster-ip-range={SERVICE_SUBNET}"),
            "--authorization-mode=Node,RBAC".into(),
            // The default plugins (PodSecurity, RuntimeClass, ServiceAccount,
            // the webhooks, ...) and NodeRestriction, as kubeadm enables it.
            "--enable-admission-plugins=NodeRestriction".into(),
            format!("--client-ca-file={}", pki("ca.crt")),
            format!("--tls-cert-file={}", pki("apiserver.crt")),
            format!("--tls-private-key-file={}", pki("apiserver.key")),
            format!("--kubelet-client-certificate={}", pki("apiserver-kubelet-client.crt")),
            format!("--kubelet-client-key={}", pki("apiserver-kubelet-client.key")),
            format!("--kubelet-certificate-authority={}", pki("ca.crt")),
            "--kubelet-preferred-address-types=InternalIP".into(),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
            format!("--service-account-key-file={}", pki("sa.pub")),
            format!("--service-account-signing-key-file={}", pki("sa.key")),
            // Aggregated APIs (KEDA's external metrics): the API server
            // proxies to them as front-proxy-client, and they trust the
            // request headers that the front-proxy CA vouches for.
            format!("--requestheader-client-ca-file={}", pki("front-proxy-ca.crt")),
            "--requestheader-allowed-names=front-proxy-client".into(),
            "--requestheader-extra-headers-prefix=X-Remote-Extra-".into(),
            "--requestheader-group-headers=X-Remote-Group".into(),
            "--requestheader-username-headers=X-Remote-User".into(),
            format!("--proxy-client-cert-file={}", pki("front-proxy-client.crt")),
            format!("--proxy-client-key-file={}", pki("front-proxy-client.key")),
            "--allow-privileged=true".into(),
            "--profiling=false".into(),
            "--v=1".into(),
        ],
    )
}

pub fn controller_manager(layout: &Layout) -> Command {
    let pki = |name: &str| path(layout.pki().join(name));
    let kubeconfig = path(layout.kubeconfig("controller-manager"));
    command(
        layout.binary("kube-controller-manager"),
        &[
            format!("--kubeconfig={kubeconfig}"),
            format!("--authentication-kubeconfig={kubeconfig}"),
            format!("--authorization-kubeconfig={kubeconfig}"),
            format!("--bind-address={NODE_IP}"),
            // Each controller under its own service account, which KEDA's
            // RBAC and the HPA's (horizontal-pod-autoscaler) rely on.
            "--use-service-account-credentials=true".into(),
            format!("--service-account-private-key-file={}", pki("sa.key")),
            format!("--root-ca-file={}", pki("ca.crt")),
            format!("--cluster-signing-cert-file={}", pki("ca.crt")),
            format!("--cluster-signing-key-file={}", pki("ca.key")),
            format!("--requestheader-client-ca-file={}", pki("front-proxy-ca.crt")),
            format!("--service-cluster-ip-range={SERVICE_SUBNET}"),
            // One instance: no lease to wait for at start.
            "--leader-elect=false".into(),
            "--profiling=false".into(),
            "--v=1".into(),
            // Every HPA sync's recommendation, with the controller's own
            // time to the microsecond: the scaling loop holds the model
            // against them (cluster/tests/loop/).
            "--vmodule=horizontal=4".into(),
        ],
    )
}

pub fn scheduler(layout: &Layout) -> Command {
    let kubeconfig = path(layout.kubeconfig("scheduler"));
    command(
        layout.binary("kube-scheduler"),
        &[
            format!("--kubeconfig={kubeconfig}"),
            format!("--authentication-kubeconfig={kubeconfig}"),
            format!("--authorization-kubeconfig={kubeconfig}"),
            format!("--bind-address={NODE_IP}"),
            "--leader-elect=false".into(),
            "--profiling=false".into(),
            "--v=1".into(),
        ],
    )
}

/// containerd 1.7 with the shims on its PATH: runc's from `containerd_dir`
/// beside containerd itself, and containerd-shim-spin-v2 as
/// `runtime_type = "io.containerd.spin.v2"` names it.
pub fn containerd(layout: &Layout, containerd_dir: &Path, spin_shim: &Path) -> std::io::Result<Command> {
    let shims = layout.containerd().join("bin");
    std::fs::create_dir_all(&shims)?;
    let link = shims.join("containerd-shim-spin-v2");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(spin_shim, &link)?;
    let mut command = command(containerd_dir.join("containerd"), &[format!("--config={}", path(layout.config("containerd.toml")))]);
    let system_path = std::env::var_os("PATH").unwrap_or_default();
    let search = std::iter::once(shims).chain(std::iter::once(containerd_dir.to_owned())).chain(std::env::split_paths(&system_path));
    command.env("PATH", std::env::join_paths(search).unwrap());
    Ok(command)
}

/// Debian's docker-registry on the node's address.
pub fn registry(layout: &Layout, registry: &Path) -> std::io::Result<Command> {
    let config = layout.config("registry.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {NODE_IP}:{REGISTRY_PORT}\n",
            path(layout.run().join("registry"))
        ),
    )?;
    Ok(command(registry.to_owned(), &["serve".into(), path(config)]))
}

pub fn kubelet(layout: &Layout) -> Command {
    command(
        layout.binary("kubelet"),
        &[
            format!("--config={}", path(layout.config("kubelet.yaml"))),
            format!("--kubeconfig={}", path(layout.kubeconfig("kubelet-client"))),
            format!("--root-dir={}", path(layout.kubelet_root())),
            format!("--hostname-override={NODE_NAME}"),
            format!("--node-ip={NODE_IP}"),
            "--v=1".into(),
        ],
    )
}

pub fn kube_proxy(layout: &Layout) -> Command {
    command(layout.binary("kube-proxy"), &[format!("--config={}", path(layout.config("kube-proxy.yaml"))), "--v=1".into()])
}

/// `kube-proxy --cleanup`: removes the rules of every proxy mode.
pub fn kube_proxy_cleanup(layout: &Layout) -> Command {
    command(layout.binary("kube-proxy"), &["--cleanup".into()])
}

/// The API server's address for clients on the machine.
pub fn api_server_address() -> String {
    api_server_url()
}
