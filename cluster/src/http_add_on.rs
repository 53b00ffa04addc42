//! What the scale-to-zero checks add to the loop's node
//! (cluster/tests/scale_to_zero/): the KEDA HTTP add-on v0.15.0, its
//! interceptor, external scaler and operator built from cluster/go/http-add-on
//! into images under the names its releases publish, and installed from the
//! tag's own config/ through the overlay in cluster/manifests/http-add-on.

use std::time::Duration;

use anyhow::Result;

use crate::Node;
use crate::gobuild::SCALE_TO_ZERO;
use crate::layout::Layout;
use crate::scaling_loop::{self, apply_kustomization, copy_tree, module_dir};

pub const MODULE: &str = "github.com/kedacore/http-add-on";

/// The namespace the add-on's config/default installs into.
pub const NAMESPACE: &str = "keda";

/// The interceptor's proxy Service and the name of its port.
pub const PROXY_SERVICE: &str = "keda-add-ons-http-interceptor-proxy";
pub const PROXY_PORT_NAME: &str = "proxy";

/// The interceptor as a pod in the cluster reaches it, by DNS: config/'s
/// proxy Service serves port 8080.
pub fn proxy_url() -> String {
    format!("http://{PROXY_SERVICE}.{NAMESPACE}.svc.cluster.local:8080/")
}

/// Each command, where ko puts it in the add-on's images (/ko-app/NAME, the
/// entrypoint; the manifests give only arguments), and the image the
/// overlay names.
const IMAGES: &[(&str, &str, &str)] = &[
    ("http-add-on/interceptor", "/ko-app/interceptor", "ghcr.io/kedacore/http-add-on-interceptor:0.15.0"),
    ("http-add-on/scaler", "/ko-app/scaler", "ghcr.io/kedacore/http-add-on-scaler:0.15.0"),
    ("http-add-on/operator", "/ko-app/operator", "ghcr.io/kedacore/http-add-on-operator:0.15.0"),
];

/// Builds the add-on's commands and imports an image of each into the node.
pub fn deliver_images(node: &Node) -> Result<()> {
    scaling_loop::deliver(node, "HTTP add-on", SCALE_TO_ZERO, IMAGES)
}

/// The add-on as its config/default installs it, after KEDA (the
/// interceptor scales itself with a ScaledObject); waits for its three
/// Deployments.
pub fn install(node: &Node) -> Result<()> {
    let overlay = node.layout.root.join("loop/http-add-on");
    let _ = std::fs::remove_dir_all(&overlay);
    copy_tree(&module_dir("http-add-on", MODULE)?.join("config"), &overlay.join("upstream/config"))?;
    std::fs::copy(Layout::source("manifests/http-add-on/kustomization.yaml"), overlay.join("kustomization.yaml"))?;
    apply_kustomization(node, &overlay)?;
    node.kubectl.run(&["wait", "--for=condition=Established", "crd/interceptorroutes.http.keda.sh", "--timeout=60s"])?;
    for deployment in ["interceptor", "scaler", "operator"] {
        node.kubectl.run_within(
            &["-n", NAMESPACE, "rollout", "status", &format!("deployment/keda-add-ons-http-{deployment}"), "--timeout=240s"],
            Duration::from_secs(250),
        )?;
    }
    Ok(())
}
