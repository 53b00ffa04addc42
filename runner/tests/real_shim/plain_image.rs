//! The plain image `Dockerfile` builds, pushed to a registry of its own:
//! under Debian 12's containerd 1.6, and as the restricted pod under
//! containerd 1.7.

use super::*;

/// The plain image `Dockerfile` builds (buildah, no Docker daemon), pushed
/// to a registry of its own: the registry, and the image's name there.
pub(crate) fn push_plain_image(dir: &Path, tag: &str) -> (Registry, String) {
    let registry = Registry::start(dir);
    let buildah = Buildah::new(dir);
    let local = format!("localhost/keda-spin-autoscaling:{tag}");
    buildah.build(&repo_root(), &repo_root().join("Dockerfile"), &local);
    let image = format!("{}/keda-spin-autoscaling:{tag}", registry.address);
    buildah.push(&local, &image);
    (registry, image)
}

#[test]
fn plain_image_runs_under_containerd_1_6_as_the_deployment_says() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = fresh_dir("real-shim-plain");
    let pod = pod::read("manifests/wasm", &dir);
    let registration = runtime_registration(pod.runtime_class.as_deref().expect("the wasm Deployment names a RuntimeClass"));
    built_component();

    let (_registry, image) = push_plain_image(&dir, "test");

    let containerd = start_containerd(&dir, None, &registration, "keda-plain");
    // Debian 12's package, the oldest containerd the plain image claims.
    assert!(containerd.version.starts_with("1.6."), "the system containerd is {}, not 1.6", containerd.version);
    two_pods_in_memory(&containerd, &pod, &registration.runtime_type, &image, "plain image");

    // Without the runtime config, Spin opens its default SQLite store in
    // /.spin at start, which the read-only root refuses: the in-memory store
    // is what lets the pod run read-only.
    let no_config = Pod { mounts: Vec::new(), security: pod.security.clone(), ..pod };
    let port = free_port();
    let id = format!("keda-plain-no-config-{}", std::process::id());
    let task = run_pod(&containerd, &no_config, &registration.runtime_type, &image, &id, port);
    let error = task
        .try_wait_for_200(&format!("http://127.0.0.1:{port}{}", no_config.readiness_path), Duration::from_secs(60))
        .expect_err("Spin served from a read-only root without the in-memory store");
    assert!(error.contains("Read-only file system"), "it failed for another reason:\n{error}");
    drop(task);

    finds_the_default_store_without_the_runtime_config(&containerd, &no_config, &registration.runtime_type, &image);
}

/// The plain image again, under containerd 1.7, whose `ctr` can set the
/// pod's user: the whole restricted securityContext, uid 65532 included.
#[test]
fn plain_image_runs_as_the_restricted_pod_under_containerd_1_7() {
    let binaries_1_7 = containerd_1_7();
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = fresh_dir("real-shim-restricted");
    let pod = pod::read("manifests/wasm", &dir);
    assert!(pod.security.run_as.is_some_and(|(user, _)| user != 0), "the Deployment names a user that is not root");
    let registration = runtime_registration(pod.runtime_class.as_deref().expect("the wasm Deployment names a RuntimeClass"));
    built_component();

    let (_registry, image) = push_plain_image(&dir, "restricted");

    let containerd = start_containerd(&dir, Some(&binaries_1_7), &registration, "keda-restricted");
    assert!(containerd.version.starts_with("1.7"), "CONTAINERD_1_7 holds containerd {}", containerd.version);
    two_pods_in_memory(&containerd, &pod, &registration.runtime_type, &image, "plain image, restricted");
    finds_the_default_store_without_the_runtime_config(&containerd, &pod, &registration.runtime_type, &image);

    // Why the Deployment adds NET_BIND_SERVICE: with `drop: [ALL]` alone
    // the spec's capability sets are empty, and the shim leaves the process
    // every capability it had. When this fails, the shim has fixed it:
    // drop the `add` and say so in docs/security.md.
    let drop_only = Pod {
        security: SecurityContext { added_capabilities: Vec::new(), ..pod.security.clone() },
        ..pod
    };
    let port = free_port();
    let id = format!("keda-restricted-drop-only-{}", std::process::id());
    let task = run_pod(&containerd, &drop_only, &registration.runtime_type, &image, &id, port);
    task.wait_for_200(&format!("http://127.0.0.1:{port}{}", drop_only.readiness_path), Duration::from_secs(60));
    let init = task.pid().expect("the task's process");
    let effective = status_field(init, "CapEff");
    // The container's process is forked by the shim: its parent is the shim.
    let shim: u32 = status_field(init, "PPid").parse().unwrap();
    let shim_effective = status_field(shim, "CapEff");
    println!("drop: [ALL] without add: CapEff {effective} as uid {:?}; the shim's {shim_effective}", drop_only.security.run_as);
    assert_ne!(shim_effective, "0000000000000000", "the shim runs as root, with capabilities to leave");
    assert_eq!(effective, shim_effective, "drop: [ALL] alone no longer leaves Spin exactly the shim's capabilities");
}

/// A field of `/proc/PID/status`, such as `CapEff` or `PPid`.
pub(crate) fn status_field(pid: u32, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let value = confinement::status_field(&status, field);
    value.unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status")).to_owned()
}
