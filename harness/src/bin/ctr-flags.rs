//! Prints, one per line, the `ctr run` flags that hold a task to the
//! securityContext of the Deployment a kustomization renders, so that
//! `scripts/bench-pods.sh` runs each pod under the restrictions the
//! conformance tests run it under, from the same manifests:
//!   ctr-flags manifests/wasm 1.7.24

use harness::confinement::SecurityContext;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [directory, containerd_version] = args.as_slice() else {
        eprintln!("usage: ctr-flags KUSTOMIZATION_DIRECTORY CONTAINERD_VERSION");
        std::process::exit(2);
    };
    for flag in SecurityContext::of_deployment(directory).ctr_flags(containerd_version) {
        println!("{flag}");
    }
}
