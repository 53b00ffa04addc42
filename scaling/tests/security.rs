//! The restricted Pod Security Standard, rule by rule, and checkov, on both
//! rendered paths (docs/security.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use harness::kustomize::{render, the};
use serde_json::{Value, json};

/// What the restricted Pod Security Standard forbids in `pod` (a pod spec),
/// rule by rule as https://kubernetes.io/docs/concepts/security/pod-security-standards/
/// lists them for v1.35, plus this project's own: a read-only root and no
/// service account token.
fn restricted_violations(pod: &Value) -> Vec<String> {
    let mut violations = Vec::new();
    let mut forbid = |broken: bool, rule: &str| {
        if broken {
            violations.push(rule.to_owned());
        }
    };
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        forbid(pod[field] == true, field);
    }
    let allowed_volumes = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];
    for volume in pod["volumes"].as_array().into_iter().flatten() {
        let kinds: Vec<&String> = volume.as_object().unwrap().keys().filter(|key| *key != "name").collect();
        forbid(!kinds.iter().all(|kind| allowed_volumes.contains(&kind.as_str())), &format!("volume types {kinds:?}"));
    }
    forbid(pod["automountServiceAccountToken"] != false, "automountServiceAccountToken is not false");
    let pod_context = &pod["securityContext"];
    for container in pod["containers"].as_array().unwrap() {
        let context = &container["securityContext"];
        // A container's own setting wins over the pod's.
        let effective = |field: &str| if context[field].is_null() { &pod_context[field] } else { &context[field] };
        forbid(context["privileged"] == true, "privileged");
        forbid(context["allowPrivilegeEscalation"] != false, "allowPrivilegeEscalation is not false");
        let dropped = context["capabilities"]["drop"].as_array().cloned().unwrap_or_default();
        forbid(!dropped.contains(&json!("ALL")), "capabilities.drop lacks ALL");
        let added = context["capabilities"]["add"].as_array().cloned().unwrap_or_default();
        forbid(added.iter().any(|capability| capability != "NET_BIND_SERVICE"), "capabilities.add beyond NET_BIND_SERVICE");
        forbid(effective("runAsNonRoot") != true, "runAsNonRoot is not true");
        forbid(effective("runAsUser") == 0, "runAsUser 0");
        let seccomp = effective("seccompProfile")["type"].as_str();
        forbid(!matches!(seccomp, Some("RuntimeDefault" | "Localhost")), "seccompProfile is not RuntimeDefault or Localhost");
        for port in container["ports"].as_array().into_iter().flatten() {
            forbid(port["hostPort"].as_u64().unwrap_or(0) != 0, "hostPort");
        }
        forbid(context["readOnlyRootFilesystem"] != true, "readOnlyRootFilesystem is not true");
    }
    violations
}

#[test]
fn both_pods_meet_the_restricted_pod_security_standard_in_a_namespace_that_enforces_it() {
    for overlay in ["wasm", "container"] {
        let objects = render(&format!("manifests/{overlay}"));
        let labels = &the(&objects, "Namespace")["metadata"]["labels"];
        assert_eq!(labels["pod-security.kubernetes.io/enforce"], "restricted", "{overlay}");
        let pod = &the(&objects, "Deployment")["spec"]["template"]["spec"];
        assert_eq!(restricted_violations(pod), Vec::<String>::new(), "{overlay}");

        // The check sees each rule broken.
        for (field, value, rule) in [
            ("allowPrivilegeEscalation", json!(true), "allowPrivilegeEscalation is not false"),
            ("capabilities", json!({"drop": ["NET_RAW"]}), "capabilities.drop lacks ALL"),
            ("runAsNonRoot", json!(false), "runAsNonRoot is not true"),
            ("seccompProfile", json!({"type": "Unconfined"}), "seccompProfile is not RuntimeDefault or Localhost"),
            ("readOnlyRootFilesystem", json!(false), "readOnlyRootFilesystem is not true"),
        ] {
            let mut broken = pod.clone();
            broken["containers"][0]["securityContext"][field] = value;
            assert!(restricted_violations(&broken).contains(&rule.to_owned()), "{overlay}: {field} broken was not seen");
        }
    }
}

/// checkov (pinned in scripts/checkov.sh): CHECKOV, else on PATH.
fn checkov() -> PathBuf {
    std::env::var_os("CHECKOV").map(PathBuf::from).unwrap_or_else(|| {
        let found = Command::new("sh").args(["-c", "command -v checkov"]).output().unwrap();
        assert!(found.status.success(), "checkov is missing: `scripts/checkov.sh` installs the pinned version and prints CHECKOV=...");
        PathBuf::from(String::from_utf8(found.stdout).unwrap().trim())
    })
}

/// checkov's Kubernetes checks on `objects` rendered as one file: (failed
/// check ids, skipped (id, reason), passed count).
fn checkov_findings(name: &str, objects: &[Value]) -> (Vec<String>, Vec<(String, String)>, u64) {
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("checkov-{name}.yaml"));
    let text: Vec<String> = objects.iter().map(|object| serde_yaml_ng::to_string(object).unwrap()).collect();
    std::fs::write(&file, text.join("---\n")).unwrap();
    let output = Command::new(checkov())
        .args(["--framework", "kubernetes", "--output", "json", "--skip-download", "--file"])
        .arg(&file)
        .output()
        .expect("checkov runs");
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("checkov gave no JSON ({error}): {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(report["summary"]["parsing_errors"], 0, "{name}: {}", report["summary"]);
    // checkov counts a Deployment's pod template as a resource of its own.
    let scanned = report["summary"]["resource_count"].as_u64().unwrap();
    assert!(scanned >= objects.len() as u64, "{name}: {scanned} of {} objects scanned", objects.len());
    let ids = |list: &str| -> Vec<Value> { report["results"][list].as_array().cloned().unwrap_or_default() };
    let failed = ids("failed_checks").iter().map(|check| format!("{} {}", check["check_id"], check["resource"])).collect();
    let skipped = ids("skipped_checks")
        .iter()
        .map(|check| (check["check_id"].as_str().unwrap().to_owned(), check["check_result"]["suppress_comment"].as_str().unwrap_or("").to_owned()))
        .collect();
    (failed, skipped, report["summary"]["passed"].as_u64().unwrap())
}

#[test]
fn checkov_finds_nothing_in_either_path_and_every_skip_says_why() {
    for overlay in ["wasm", "container"] {
        let objects: Vec<Value> = render(&format!("manifests/{overlay}")).into_iter().map(|object| object.value).collect();
        let (failed, skipped, passed) = checkov_findings(overlay, &objects);
        println!("checkov, manifests/{overlay}: {passed} passed, {} failed, {} skipped: {skipped:?}", failed.len(), skipped.len());
        assert_eq!(failed, Vec::<String>::new(), "{overlay}");
        assert!(passed >= 50, "{overlay}: only {passed} checks ran");
        for (id, reason) in &skipped {
            assert!(reason.split_whitespace().count() >= 4, "{overlay}: {id} is skipped without a reason");
        }
    }
    // The scanner is not blind: a writable root is found.
    let mut objects: Vec<Value> = render("manifests/wasm").into_iter().map(|object| object.value).collect();
    let deployment = objects.iter_mut().find(|object| object["kind"] == "Deployment").unwrap();
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = json!(false);
    let (failed, _, _) = checkov_findings("writable-root", &objects);
    assert!(failed.iter().any(|check| check.starts_with("\"CKV_K8S_22\"")), "{failed:?}");
}
