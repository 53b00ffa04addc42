//! The scripts users run: strict, pinned, and clean under shellcheck.

use std::path::PathBuf;
use std::process::Command;

use harness::repo_root;

#[test]
fn install_scripts_are_strict_pinned_and_pass_shellcheck() {
    let scripts = ["scripts/deploy-kube-prometheus.sh", "scripts/deploy-keda.sh", "scripts/deploy-http-add-on.sh", "scripts/install-spin-shim.sh"];
    let pins = [
        ("scripts/deploy-kube-prometheus.sh", "v0.18.0"),
        ("scripts/deploy-keda.sh", "v2.20.2"),
        ("scripts/deploy-http-add-on.sh", "v0.15.0"),
        ("scripts/install-spin-shim.sh", "v0.24.0"),
    ];
    for (script, version) in pins {
        let text = std::fs::read_to_string(repo_root().join(script)).unwrap();
        assert!(text.contains(version), "{script} pins {version}");
        assert!(text.contains("set -euo pipefail"), "{script}");
    }
    let mut all: Vec<PathBuf> = std::fs::read_dir(repo_root().join("scripts"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "sh"))
        .collect();
    all.push(repo_root().join(".ci/run"));
    assert!(scripts.iter().all(|script| all.contains(&repo_root().join(script))));
    let output = Command::new("shellcheck")
        .args(&all)
        .output()
        .expect("shellcheck is installed (Debian package `shellcheck`; .ci/run installs it)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
}
