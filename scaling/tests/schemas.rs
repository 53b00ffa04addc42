//! Every rendered object against the real upstream schemas kept beside this
//! file (tests/schemas, see its SOURCES.md), strict as the API server
//! validates under `kubectl apply --validate=strict`.

use std::path::{Path, PathBuf};

use harness::kustomize::render;
use harness::read_yaml;
use serde_json::{Value, json};

/// Upstream schema files, byte for byte, with their sources and checksums.
fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas")
}

/// Validates objects against the strict Kubernetes 1.35 schemas and the
/// KEDA, prometheus-operator and KEDA HTTP add-on CRDs.
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
            "InterceptorRoute" => (crd_schema("http.keda.sh_interceptorroutes.yaml"), jsonschema::Draft::Draft4),
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
    let mut objects: Vec<Value> = render("manifests/wasm").into_iter().map(|object| object.value).collect();
    objects.extend(render("manifests/container").into_iter().map(|object| object.value));
    // Scale to zero: the InterceptorRoute, and the ScaledObject with the
    // add-on's trigger.
    objects.extend(render("manifests/scale-to-zero").into_iter().map(|object| object.value));
    // The load Job and the monitoring additions (dashboard, KEDA's ServiceMonitor).
    objects.extend(render("manifests/load").into_iter().chain(render("manifests/monitoring")).map(|object| object.value));
    objects.push(read_yaml("runtime-class/runtime-class.yaml"));
    let errors: Vec<String> = objects.iter().flat_map(|object| validator.errors(object)).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn broken_manifests_are_rejected() {
    let validator = Validator::new();
    let wasm = render("manifests/wasm");
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
    let zero = render("manifests/scale-to-zero");
    let route = || zero.iter().find(|object| object.kind() == "InterceptorRoute").unwrap().value.clone();
    assert!(validator.errors(&route()).is_empty());
    for break_it in [
        &(|r: &mut Value| r["spec"]["target"]["servce"] = json!("test")) as &dyn Fn(&mut Value),
        &|r| r["spec"]["scalingMetric"]["concurrency"]["targetValue"] = json!("100"),
        &|r| {
            r["spec"].as_object_mut().unwrap().remove("scalingMetric");
        },
    ] {
        let mut broken = route();
        break_it(&mut broken);
        assert!(!validator.errors(&broken).is_empty(), "a broken InterceptorRoute passed: {broken}");
    }
    let mut runtime_class = read_yaml("runtime-class/runtime-class.yaml");
    runtime_class["handlers"] = json!("spin");
    assert!(!validator.errors(&runtime_class).is_empty());
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
