//! The Kubernetes delivery, checked as far as it can be without a cluster:
//! both paths rendered exactly as `kubectl apply -k` renders them, and the
//! references between their objects followed. The schemas are checked in
//! schemas.rs, the Pod Security rules and checkov in security.rs.

use std::collections::BTreeMap;

use harness::kustomize::{Object, render, the};
use harness::{read_yaml, repo_root};
use serde_json::{Value, json};

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
    let wasm = render("manifests/wasm");
    let container = render("manifests/container");
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
        let objects = render(&format!("manifests/{overlay}"));
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
    let objects = render("manifests/wasm");
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
    let objects = render("manifests/container");
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
    let objects = render("manifests/wasm");
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
        let config: toml::Value = toml::from_str(&std::fs::read_to_string(repo_root().join(file)).unwrap()).unwrap();
        let runtime = &config["plugins"][plugin]["containerd"]["runtimes"][handler];
        assert_eq!(runtime["runtime_type"].as_str(), Some("io.containerd.spin.v2"), "{file}");
    }
    // Nodes without the shim get no wasm pods: the class schedules onto the
    // label the install script puts on nodes it provisions.
    let selector = runtime_class["scheduling"]["nodeSelector"].as_object().unwrap();
    let install = std::fs::read_to_string(repo_root().join("scripts/install-spin-shim.sh")).unwrap();
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
    let runtime_config = std::fs::read_to_string(repo_root().join("manifests/wasm/runtime-config.toml")).unwrap();
    assert_eq!(config_map["data"]["runtime-config.toml"], runtime_config.as_str());
    let parsed: toml::Value = toml::from_str(&runtime_config).unwrap();
    let store = &parsed["key_value_store"]["default"];
    assert_eq!(store["type"].as_str(), Some("spin"));
    assert!(store.get("path").is_none(), "no path: the store lives in memory");
}

#[test]
fn images_are_pinned_except_the_documented_python_image() {
    for overlay in ["wasm", "container"] {
        for object in render(&format!("manifests/{overlay}")).iter().filter(|object| object.kind() == "Deployment") {
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
fn drains_keep_a_pod_and_the_namespace_admits_only_the_apps_port() {
    for overlay in ["wasm", "container"] {
        let objects = render(&format!("manifests/{overlay}"));
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
