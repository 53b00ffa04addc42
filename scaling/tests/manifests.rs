//! The Kubernetes delivery, checked as far as it can be without a cluster:
//! both paths rendered exactly as `kubectl apply -k` renders them, every
//! object validated against the real upstream schemas kept beside this file
//! (tests/schemas, see its SOURCES.md), and the references between objects
//! followed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Upstream schema files, byte for byte, with their sources and checksums.
fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas")
}

/// One rendered object: its YAML text exactly as kustomize wrote it, and its value.
#[derive(Clone, Debug)]
struct Object {
    text: String,
    value: Value,
}

impl Object {
    fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap()
    }

    fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap()
    }
}

/// `kubectl kustomize manifests/<overlay>`, which is what `kubectl apply -k` applies.
fn render(overlay: &str) -> Vec<Object> {
    let output = Command::new("kubectl")
        .args(["kustomize", &format!("manifests/{overlay}")])
        .current_dir(repo())
        .output()
        .expect("kubectl (with kustomize) is installed");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let rendered = String::from_utf8(output.stdout).unwrap();
    rendered
        .split("\n---\n")
        .map(|text| Object { text: text.trim_end().to_owned() + "\n", value: serde_yaml_ng::from_str(text).unwrap() })
        .collect()
}

fn read_yaml(path: &str) -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(repo().join(path)).unwrap()).unwrap()
}

fn the<'a>(objects: &'a [Object], kind: &str) -> &'a Value {
    let mut matching = objects.iter().filter(|object| object.kind() == kind);
    let object = matching.next().unwrap_or_else(|| panic!("no {kind}"));
    assert!(matching.next().is_none(), "several {kind}");
    &object.value
}

const SHARED_KINDS: [&str; 8] = [
    "Namespace",
    "Service",
    "ServiceMonitor",
    "ScaledObject",
    "Role",
    "RoleBinding",
    "NetworkPolicy",
    "PodDisruptionBudget",
];

#[test]
fn shared_objects_are_byte_identical_in_both_paths() {
    let wasm = render("wasm");
    let container = render("container");
    let shared = |objects: &[Object]| -> BTreeMap<String, String> {
        objects
            .iter()
            .filter(|object| SHARED_KINDS.contains(&object.kind()))
            .map(|object| (format!("{}/{}", object.kind(), object.name()), object.text.clone()))
            .collect()
    };
    let wasm_shared = shared(&wasm);
    for kind in SHARED_KINDS {
        assert!(wasm_shared.keys().any(|key| key.starts_with(&format!("{kind}/"))), "no {kind}: {:?}", wasm_shared.keys());
    }
    assert_eq!(wasm_shared, shared(&container));

    let own = |objects: &[Object]| -> Vec<String> {
        let mut kinds: Vec<_> = objects
            .iter()
            .map(|object| object.kind().to_owned())
            .filter(|kind| !SHARED_KINDS.contains(&kind.as_str()))
            .collect();
        kinds.sort();
        kinds
    };
    assert_eq!(own(&wasm), ["ConfigMap", "Deployment"]);
    assert_eq!(own(&container), ["Deployment"]);
}

/// Validates objects against the strict Kubernetes 1.35 schemas and the
/// KEDA and prometheus-operator CRDs.
struct Validator {
    registry: jsonschema::Registry<'static>,
}

impl Validator {
    fn new() -> Self {
        let definitions: Value = read_json(&schemas().join("kubernetes-v1.35.0-local-strict/_definitions.json"));
        let id = definitions["$id"].as_str().unwrap().to_owned();
        let registry = jsonschema::Registry::new().add(id, definitions).unwrap().prepare().unwrap();
        Self { registry }
    }

    /// Every error the real schema finds in `object`.
    fn errors(&self, object: &Value) -> Vec<String> {
        let kind = object["kind"].as_str().unwrap();
        let (schema, draft) = match kind {
            "Deployment" => (read_json(&core("deployment-apps-v1.json")), jsonschema::Draft::Draft202012),
            "Service" => (read_json(&core("service-v1.json")), jsonschema::Draft::Draft202012),
            "Namespace" => (read_json(&core("namespace-v1.json")), jsonschema::Draft::Draft202012),
            "RuntimeClass" => (read_json(&core("runtimeclass-node-v1.json")), jsonschema::Draft::Draft202012),
            "Role" | "RoleBinding" | "NetworkPolicy" | "ConfigMap" | "Job" | "PodDisruptionBudget" => (definition(kind), jsonschema::Draft::Draft202012),
            "ScaledObject" => (crd_schema("keda.sh_scaledobjects.yaml"), jsonschema::Draft::Draft4),
            "ServiceMonitor" => (crd_schema("monitoring.coreos.com_servicemonitors.yaml"), jsonschema::Draft::Draft4),
            other => panic!("no schema for {other}"),
        };
        let validator = jsonschema::options()
            .with_draft(draft)
            .with_registry(&self.registry)
            .build(&schema)
            .unwrap();
        validator.iter_errors(object).map(|error| format!("{kind}: {error} at {}", error.instance_path())).collect()
    }
}

fn core(file: &str) -> PathBuf {
    schemas().join("kubernetes-v1.35.0-local-strict").join(file)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// Kinds without a file of their own in tests/schemas are validated against
/// their definition in the same strict `_definitions.json`, pinned to the
/// apiVersion that definition describes.
fn definition(kind: &str) -> Value {
    let (name, api_version) = match kind {
        "Role" => ("io.k8s.api.rbac.v1.Role", "rbac.authorization.k8s.io/v1"),
        "RoleBinding" => ("io.k8s.api.rbac.v1.RoleBinding", "rbac.authorization.k8s.io/v1"),
        "NetworkPolicy" => ("io.k8s.api.networking.v1.NetworkPolicy", "networking.k8s.io/v1"),
        "ConfigMap" => ("io.k8s.api.core.v1.ConfigMap", "v1"),
        "Job" => ("io.k8s.api.batch.v1.Job", "batch/v1"),
        "PodDisruptionBudget" => ("io.k8s.api.policy.v1.PodDisruptionBudget", "policy/v1"),
        _ => unreachable!(),
    };
    json!({
        "$ref": format!("https://kubernetes.io/api/_definitions.json#/$defs/{name}"),
        "properties": { "apiVersion": { "const": api_version } },
        "required": ["apiVersion", "kind", "metadata"],
    })
}

/// The storage version's schema from a CRD, made strict as the API server
/// validates a custom resource under `kubectl apply --validate=strict` (the
/// default since kubectl 1.27): a field the structural schema does not
/// declare is an error, not pruned in silence.
fn crd_schema(file: &str) -> Value {
    let crd: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(schemas().join(file)).unwrap()).unwrap();
    let versions = crd["spec"]["versions"].as_array().unwrap();
    let storage = versions.iter().find(|version| version["storage"] == true).unwrap();
    let mut schema = storage["schema"]["openAPIV3Schema"].clone();
    reject_undeclared_fields(&mut schema);
    schema
}

/// `additionalProperties: false` on every object schema that declares its
/// properties, unless it keeps unknown fields
/// (`x-kubernetes-preserve-unknown-fields`) or is a map (its own
/// `additionalProperties`).
fn reject_undeclared_fields(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else { return };
    let declares = object.contains_key("properties");
    let keeps = object.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
    if declares && !keeps && !object.contains_key("additionalProperties") {
        object.insert("additionalProperties".into(), json!(false));
    }
    for (key, value) in object.iter_mut() {
        match key.as_str() {
            "properties" => value.as_object_mut().into_iter().flat_map(|properties| properties.values_mut()).for_each(reject_undeclared_fields),
            "items" | "additionalProperties" => reject_undeclared_fields(value),
            "allOf" | "anyOf" | "oneOf" => value.as_array_mut().into_iter().flatten().for_each(reject_undeclared_fields),
            _ => {}
        }
    }
}

#[test]
fn every_object_is_valid_against_the_real_schemas() {
    let validator = Validator::new();
    let mut objects: Vec<Value> = render("wasm").into_iter().map(|object| object.value).collect();
    objects.extend(render("container").into_iter().map(|object| object.value));
    // The load Job and the monitoring additions (dashboard, KEDA's ServiceMonitor).
    objects.extend(render("load").into_iter().chain(render("monitoring")).map(|object| object.value));
    objects.push(read_yaml("runtime-class/runtime-class.yaml"));
    let errors: Vec<String> = objects.iter().flat_map(|object| validator.errors(object)).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn broken_manifests_are_rejected() {
    let validator = Validator::new();
    let wasm = render("wasm");
    let rejected = |kind: &str, break_it: &dyn Fn(&mut Value)| {
        let mut object = wasm.iter().find(|object| object.kind() == kind).unwrap().value.clone();
        assert!(validator.errors(&object).is_empty());
        break_it(&mut object);
        let errors = validator.errors(&object);
        assert!(!errors.is_empty(), "a broken {kind} passed: {object}");
    };
    // Unknown fields, which the strict core schemas reject.
    rejected("Deployment", &|d| d["spec"]["template"]["spec"]["runtimeClass"] = json!("wasmtime-spin-v2"));
    rejected("Service", &|s| s["spec"]["ports"][0]["nodeport"] = json!(30115));
    rejected("Role", &|r| r["rules"][0]["verb"] = json!(["get"]));
    rejected("NetworkPolicy", &|n| n["spec"]["podSelector"] = json!([]));
    rejected("PodDisruptionBudget", &|p| p["spec"]["minAvailable"] = json!([1]));
    rejected("ConfigMap", &|c| c["apiVersion"] = json!("v2"));
    // Wrong types and missing required fields, which the CRD schemas reject.
    rejected("ScaledObject", &|s| s["spec"]["pollingInterval"] = json!("15"));
    rejected("ScaledObject", &|s| s["spec"]["triggers"][0]["metadata"]["threshold"] = json!(10));
    rejected("ScaledObject", &|s| {
        s["spec"]["scaleTargetRef"].as_object_mut().unwrap().remove("name");
    });
    rejected("ServiceMonitor", &|m| m["spec"]["endpoints"] = json!("http"));
    // Misspelled fields, which the API server refuses under strict field
    // validation.
    rejected("ScaledObject", &|s| s["spec"]["pollingIntervall"] = json!(15));
    rejected("ScaledObject", &|s| s["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behaviour"] = json!({}));
    rejected("ServiceMonitor", &|m| m["spec"]["endpoints"][0]["intervall"] = json!("5s"));
    let mut runtime_class = read_yaml("runtime-class/runtime-class.yaml");
    runtime_class["handlers"] = json!("spin");
    assert!(!validator.errors(&runtime_class).is_empty());
}

fn is_subset(labels: &Value, of: &Value) -> bool {
    let labels = labels.as_object().expect("labels");
    !labels.is_empty() && labels.iter().all(|(key, value)| of.get(key) == Some(value))
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|item| item["name"].as_str().unwrap()).collect()
}

#[test]
fn references_between_objects_hold_in_both_paths() {
    for overlay in ["wasm", "container"] {
        let objects = render(overlay);
        let deployment = the(&objects, "Deployment");
        let service = the(&objects, "Service");
        let monitor = the(&objects, "ServiceMonitor");
        let scaled = the(&objects, "ScaledObject");
        let pod = &deployment["spec"]["template"];
        let pod_labels = &pod["metadata"]["labels"];
        let container = &pod["spec"]["containers"][0];

        assert!(is_subset(&deployment["spec"]["selector"]["matchLabels"], pod_labels), "{overlay}: Deployment selector");
        assert!(is_subset(&service["spec"]["selector"], pod_labels), "{overlay}: Service selector");
        assert!(
            is_subset(&monitor["spec"]["selector"]["matchLabels"], &service["metadata"]["labels"]),
            "{overlay}: ServiceMonitor selects the Service"
        );
        let port = &service["spec"]["ports"][0];
        assert_eq!((port["name"].as_str(), port["port"].as_i64(), port["nodePort"].as_i64()), (Some("http"), Some(5000), Some(30115)));
        let endpoint_port = monitor["spec"]["endpoints"][0]["port"].as_str().unwrap();
        assert!(names(&service["spec"]["ports"]).contains(&endpoint_port), "{overlay}: ServiceMonitor port");
        let target_port = port["targetPort"].as_str().expect("targetPort by name");
        assert!(names(&container["ports"]).contains(&target_port), "{overlay}: targetPort on the container");
        for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
            if let Some(port) = container[probe]["httpGet"]["port"].as_str() {
                assert!(names(&container["ports"]).contains(&port), "{overlay}: {probe} port");
            }
        }

        let target = &scaled["spec"]["scaleTargetRef"];
        assert_eq!(target["kind"], "Deployment");
        assert_eq!(target["name"], deployment["metadata"]["name"]);
        assert_eq!(scaled["metadata"]["namespace"], deployment["metadata"]["namespace"]);
        assert_eq!(service["metadata"]["namespace"], deployment["metadata"]["namespace"]);
        assert_eq!(monitor["metadata"]["namespace"], deployment["metadata"]["namespace"]);
    }
}

#[test]
fn the_scaled_object_scales_on_the_summed_rate_and_keda_may_reach_prometheus() {
    let objects = render("wasm");
    let spec = &the(&objects, "ScaledObject")["spec"];
    let trigger = &spec["triggers"][0];
    assert_eq!(trigger["type"], "prometheus");
    let metadata = &trigger["metadata"];
    assert_eq!(metadata["serverAddress"], "http://prometheus-k8s.monitoring.svc:9090");
    assert_eq!(metadata["query"], r#"sum(rate(python_request_operations_total{namespace="test"}[1m]))"#);
    assert!(metadata.get("metricName").is_none(), "metricName was removed in KEDA 2.12");
    // The values docs/scaling.md explains, one by one.
    assert_eq!((metadata["threshold"].as_str(), metadata["activationThreshold"].as_str()), (Some("10"), Some("0.5")));
    assert_eq!(metadata["ignoreNullValues"], "false", "no data is an error, not 0 (docs/scaling.md)");
    assert_eq!(spec["minReplicaCount"], 1, "the metric comes from the pods: no scale to zero");
    assert_eq!(spec["maxReplicaCount"], 10);
    assert_eq!((&spec["pollingInterval"], &spec["cooldownPeriod"]), (&json!(15), &json!(60)));

    // KEDA reaches Prometheus through the NetworkPolicy, on the port it queries.
    let policy = &objects
        .iter()
        .find(|object| object.kind() == "NetworkPolicy" && object.name() == "prometheus-k8s-from-keda")
        .expect("the NetworkPolicy for KEDA")
        .value;
    assert_eq!(policy["metadata"]["namespace"], "monitoring");
    let ingress = &policy["spec"]["ingress"][0];
    assert_eq!(ingress["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "keda");
    assert_eq!(ingress["ports"][0]["port"], 9090);
    assert!(metadata["serverAddress"].as_str().unwrap().ends_with(".monitoring.svc:9090"));
}

#[test]
fn prometheus_may_discover_and_scrape_the_namespace_and_nothing_more() {
    let objects = render("container");
    let role = the(&objects, "Role");
    let binding = the(&objects, "RoleBinding");
    assert_eq!(role["metadata"]["namespace"], "test");
    let granted = |group: &str, resource: &str| {
        role["rules"].as_array().unwrap().iter().any(|rule| {
            let has = |field: &str, value: &str| rule[field].as_array().unwrap().iter().any(|v| v == value);
            has("apiGroups", group) && has("resources", resource) && ["get", "list", "watch"].iter().all(|verb| has("verbs", verb))
        })
    };
    for (group, resource) in [("", "services"), ("", "endpoints"), ("", "pods"), ("discovery.k8s.io", "endpointslices")] {
        assert!(granted(group, resource), "{group}/{resource}");
    }
    let verbs: Vec<_> = role["rules"].as_array().unwrap().iter().flat_map(|rule| rule["verbs"].as_array().unwrap().clone()).collect();
    assert!(verbs.iter().all(|verb| ["get", "list", "watch"].contains(&verb.as_str().unwrap())), "read-only: {verbs:?}");
    assert_eq!(binding["roleRef"], json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}));
    assert_eq!(binding["subjects"], json!([{"kind": "ServiceAccount", "name": "prometheus-k8s", "namespace": "monitoring"}]));
}

#[test]
fn the_wasm_pod_runs_on_the_shim_with_the_in_memory_store() {
    let objects = render("wasm");
    let pod = &the(&objects, "Deployment")["spec"]["template"]["spec"];
    let runtime_class = read_yaml("runtime-class/runtime-class.yaml");
    assert_eq!(pod["runtimeClassName"], runtime_class["metadata"]["name"]);
    assert_eq!(runtime_class["metadata"]["name"], "wasmtime-spin-v2");
    let handler = runtime_class["handler"].as_str().unwrap();
    assert_eq!(handler, "spin");

    // The handler is the runtime name containerd is configured with, in both config formats.
    for (file, plugin) in [
        ("runtime-class/containerd-1.x.toml", "io.containerd.grpc.v1.cri"),
        ("runtime-class/containerd-2.x.toml", "io.containerd.cri.v1.runtime"),
    ] {
        let config: toml::Value = toml::from_str(&std::fs::read_to_string(repo().join(file)).unwrap()).unwrap();
        let runtime = &config["plugins"][plugin]["containerd"]["runtimes"][handler];
        assert_eq!(runtime["runtime_type"].as_str(), Some("io.containerd.spin.v2"), "{file}");
    }
    // Nodes without the shim get no wasm pods: the class schedules onto the
    // label the install script puts on nodes it provisions.
    let selector = runtime_class["scheduling"]["nodeSelector"].as_object().unwrap();
    let install = std::fs::read_to_string(repo().join("scripts/install-spin-shim.sh")).unwrap();
    let assignment = |name: &str| {
        let prefix = format!("{name}=");
        let line = install.lines().find(|line| line.starts_with(&prefix)).unwrap_or_else(|| panic!("no {name}"));
        line[prefix.len()..].trim_matches('"').to_owned()
    };
    let label = assignment("NODE_LABEL").replace("${SHIM_VERSION}", &assignment("SHIM_VERSION"));
    assert_eq!(selector.len(), 1);
    for (key, value) in selector {
        assert_eq!(label, format!("{key}={}", value.as_str().unwrap()), "the install script labels nodes for the class");
    }

    let container = &pod["containers"][0];
    assert_eq!(container["command"], json!(["/"]));
    assert!(!container["image"].as_str().unwrap().ends_with(":latest"));
    assert!(container["resources"]["requests"].is_object() && container["resources"]["limits"].is_object());
    assert!(container["readinessProbe"]["httpGet"]["path"].is_string());
    let mount = &container["volumeMounts"][0];
    assert_eq!((mount["mountPath"].as_str(), mount["subPath"].as_str()), (Some("/runtime-config.toml"), Some("runtime-config.toml")));
    let volume = pod["volumes"].as_array().unwrap().iter().find(|volume| volume["name"] == mount["name"]).unwrap();
    let config_map = the(&objects, "ConfigMap");
    assert_eq!(volume["configMap"]["name"], config_map["metadata"]["name"]);
    let runtime_config = std::fs::read_to_string(repo().join("manifests/wasm/runtime-config.toml")).unwrap();
    assert_eq!(config_map["data"]["runtime-config.toml"], runtime_config.as_str());
    let parsed: toml::Value = toml::from_str(&runtime_config).unwrap();
    let store = &parsed["key_value_store"]["default"];
    assert_eq!(store["type"].as_str(), Some("spin"));
    assert!(store.get("path").is_none(), "no path: the store lives in memory");
}

#[test]
fn images_are_pinned_except_the_documented_python_image() {
    for overlay in ["wasm", "container"] {
        for object in render(overlay).iter().filter(|object| object.kind() == "Deployment") {
            for container in object.value["spec"]["template"]["spec"]["containers"].as_array().unwrap() {
                let image = container["image"].as_str().unwrap();
                let (_, tag) = image.rsplit_once(':').unwrap_or_else(|| panic!("{image} has no tag"));
                if image == "docker.io/shkatara/python-custom-metrics-prometheus:latest" {
                    continue; // publishes nothing but `latest`: docs/kubernetes.md, "The container path"
                }
                assert!(tag != "latest" && !tag.is_empty(), "{image}");
            }
        }
    }
}

#[test]
fn install_scripts_are_strict_pinned_and_pass_shellcheck() {
    let scripts = ["scripts/deploy-kube-prometheus.sh", "scripts/deploy-keda.sh", "scripts/install-spin-shim.sh"];
    let pins = [("scripts/deploy-kube-prometheus.sh", "v0.18.0"), ("scripts/deploy-keda.sh", "v2.20.2"), ("scripts/install-spin-shim.sh", "v0.24.0")];
    for (script, version) in pins {
        let text = std::fs::read_to_string(repo().join(script)).unwrap();
        assert!(text.contains(version), "{script} pins {version}");
        assert!(text.contains("set -euo pipefail"), "{script}");
    }
    let mut all: Vec<PathBuf> = std::fs::read_dir(repo().join("scripts"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "sh"))
        .collect();
    all.push(repo().join(".ci/run"));
    assert!(scripts.iter().all(|script| all.contains(&repo().join(script))));
    let output = Command::new("shellcheck")
        .args(&all)
        .output()
        .expect("shellcheck is installed (Debian package `shellcheck`; .ci/run installs it)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
}

/// The schema files are upstream's bytes: each matches the checksum recorded
/// in tests/schemas/SHA256SUMS, and none is there unrecorded.
#[test]
fn schema_files_match_their_recorded_checksums() {
    use sha2::{Digest, Sha256};
    let sums = std::fs::read_to_string(schemas().join("SHA256SUMS")).unwrap();
    let mut recorded = std::collections::BTreeSet::new();
    for line in sums.lines() {
        let (expected, file) = line.split_once("  ").expect("sha256sum's `HASH  FILE` lines");
        let bytes = std::fs::read(schemas().join(file)).unwrap_or_else(|error| panic!("{file}: {error}"));
        let actual: String = Sha256::digest(&bytes).iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(actual, expected, "{file} is not the upstream file SHA256SUMS records");
        recorded.insert(file.to_owned());
    }
    for directory in [schemas(), schemas().join("kubernetes-v1.35.0-local-strict")] {
        for entry in std::fs::read_dir(&directory).unwrap() {
            let path = entry.unwrap().path();
            let is_schema = path.extension().is_some_and(|extension| extension == "json" || extension == "yaml");
            let relative = path.strip_prefix(schemas()).unwrap().to_str().unwrap().to_owned();
            assert!(!is_schema || recorded.contains(&relative), "{relative} has no checksum in SHA256SUMS");
        }
    }
}

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
        let objects = render(overlay);
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

#[test]
fn drains_keep_a_pod_and_the_namespace_admits_only_the_apps_port() {
    for overlay in ["wasm", "container"] {
        let objects = render(overlay);
        let deployment = the(&objects, "Deployment");
        let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
        let budget = &the(&objects, "PodDisruptionBudget")["spec"];
        assert_eq!(budget["minAvailable"], 1, "{overlay}");
        assert!(is_subset(&budget["selector"]["matchLabels"], pod_labels), "{overlay}: the budget covers the pods");

        let policies: Vec<&Value> = objects
            .iter()
            .filter(|object| object.kind() == "NetworkPolicy" && object.value["metadata"]["namespace"] == "test")
            .map(|object| &object.value)
            .collect();
        // Default deny: every pod, both directions, no rule.
        let deny = policies.iter().find(|policy| policy["metadata"]["name"] == "default-deny").expect("default-deny");
        assert_eq!(deny["spec"]["podSelector"], json!({}));
        assert_eq!(deny["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        assert!(deny["spec"]["ingress"].is_null() && deny["spec"]["egress"].is_null());
        // Nothing else opens egress; ingress opens only the Service's target port on the app's pods.
        let service_port = &the(&objects, "Service")["spec"]["ports"][0]["targetPort"];
        for policy in &policies {
            assert!(policy["spec"]["egress"].is_null(), "{overlay}: {} opens egress", policy["metadata"]["name"]);
            for rule in policy["spec"]["ingress"].as_array().into_iter().flatten() {
                assert!(is_subset(&policy["spec"]["podSelector"]["matchLabels"], pod_labels));
                assert_eq!(rule["ports"], json!([{ "protocol": "TCP", "port": service_port }]), "{overlay}");
            }
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
        let objects: Vec<Value> = render(overlay).into_iter().map(|object| object.value).collect();
        let (failed, skipped, passed) = checkov_findings(overlay, &objects);
        println!("checkov, manifests/{overlay}: {passed} passed, {} failed, {} skipped: {skipped:?}", failed.len(), skipped.len());
        assert_eq!(failed, Vec::<String>::new(), "{overlay}");
        assert!(passed >= 50, "{overlay}: only {passed} checks ran");
        for (id, reason) in &skipped {
            assert!(reason.split_whitespace().count() >= 4, "{overlay}: {id} is skipped without a reason");
        }
    }
    // The scanner is not blind: a writable root is found.
    let mut objects: Vec<Value> = render("wasm").into_iter().map(|object| object.value).collect();
    let deployment = objects.iter_mut().find(|object| object["kind"] == "Deployment").unwrap();
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = json!(false);
    let (failed, _, _) = checkov_findings("writable-root", &objects);
    assert!(failed.iter().any(|check| check.starts_with("\"CKV_K8S_22\"")), "{failed:?}");
}
