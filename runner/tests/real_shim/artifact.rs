//! The Spin OCI artifact `spin registry push` makes, under containerd 1.7:
//! refused as a restricted pod, served as root with a writable root.

use super::*;

#[test]
fn spin_oci_artifact_runs_under_containerd_1_7_as_the_deployment_says() {
    let binaries_1_7 = containerd_1_7();
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = fresh_dir("real-shim-artifact");
    let pod = pod::read("manifests/wasm", &dir);
    let registration = runtime_registration(pod.runtime_class.as_deref().expect("the wasm Deployment names a RuntimeClass"));
    built_component();

    let registry = Registry::start(&dir);
    let image = format!("{}/keda-spin-autoscaling-artifact:test", registry.address);
    // As the README publishes it; --insecure lets spin talk plain HTTP to
    // the local registry.
    let mut push = Command::new(binaries::spin());
    push.args(["registry", "push", "--insecure", "--cache-dir"])
        .arg(dir.join("spin-cache"))
        .arg("--from")
        .arg(repo_root().join("spin.toml"))
        .arg(&image);
    run_ok(push, Duration::from_secs(120));

    let containerd = start_containerd(&dir, Some(&binaries_1_7), &registration, "keda-artifact");
    assert!(containerd.version.starts_with("1.7"), "CONTAINERD_1_7 holds containerd {}", containerd.version);
    containerd.ctr_ok(&["images", "pull", "--plain-http", &image]);

    // The shim (v0.24.0) unpacks an artifact into the container's root at
    // start (/.cache/registry, /spin.json), so the Deployment's read-only
    // root, and any user but root, stop it before it serves: the artifact
    // cannot run under the restricted Pod Security Standard.
    // A writable root does not help a user that is not root: the root
    // directory belongs to root.
    let writable = SecurityContext { read_only_root: false, ..pod.security.clone() };
    for (security, reason) in [(pod.security.clone(), "Read-only file system"), (writable, "Permission denied")] {
        let attempt = Pod { security, ..pod.clone() };
        let port = free_port();
        let id = format!("keda-artifact-restricted-{}-{}", attempt.security.read_only_root, std::process::id());
        let task = run_pod(&containerd, &attempt, &registration.runtime_type, &image, &id, port);
        let refused = task.try_wait_for_200(&format!("http://127.0.0.1:{port}{}", attempt.readiness_path), Duration::from_secs(60));
        let error = refused.expect_err("the artifact served as a restricted pod; update docs/security.md and the README");
        assert!(error.contains(reason), "the artifact failed for another reason than {reason:?}:\n{error}");
        println!("Spin OCI artifact, read-only root {}, as uid {:?}: refused, {reason}", attempt.security.read_only_root, attempt.security.run_as);
    }

    // As root with a writable root, as a namespace at the baseline standard
    // allows. The first pod compiles the component, and the shim stores the
    // precompiled form; the second starts from that.
    let relaxed = Pod {
        security: SecurityContext { run_as: None, read_only_root: false, ..pod.security.clone() },
        ..pod
    };
    two_pods_in_memory(&containerd, &relaxed, &registration.runtime_type, &image, "Spin OCI artifact");
    finds_the_default_store_without_the_runtime_config(&containerd, &relaxed, &registration.runtime_type, &image);
}
