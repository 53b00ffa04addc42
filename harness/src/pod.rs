//! A Deployment's pod as a node is told to run it, read from what
//! `kubectl kustomize` renders: its command, environment, probe, ConfigMap
//! mounts, grace period, runtime class and securityContext. The shim tests
//! and the pods benchmark run it with `ctr run`; only the listen address
//! changes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::confinement::SecurityContext;

/// What a node is told to run: a Deployment's one container, as
/// `kubectl kustomize` renders its directory of `manifests/`.
#[derive(Clone)]
pub struct Pod {
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The container port the readiness probe names.
    pub port: u16,
    pub readiness_path: String,
    /// (file written from the ConfigMap, mount path in the container).
    pub mounts: Vec<(PathBuf, String)>,
    pub termination_grace: Duration,
    /// `resources.limits.cpu` as written, such as `500m`.
    pub cpu_limit: Option<String>,
    /// `None` for the container path, which runs on the default runtime.
    pub runtime_class: Option<String>,
    pub security: SecurityContext,
}

fn string(value: &Value, what: &str) -> String {
    value.as_str().unwrap_or_else(|| panic!("{what} is not a string: {value:?}")).to_owned()
}

/// Reads the Deployment of `directory` (such as `manifests/wasm`) and writes
/// the files its volume mounts take from ConfigMaps into `files`.
pub fn read(directory: &str, files: &Path) -> Pod {
    let objects = crate::kustomize::render(directory);
    let (spec, container) = crate::kustomize::the_pod(&objects, directory);

    // None: the image's own entrypoint.
    let command =
        container["command"].as_array().map(|command| command.iter().map(|part| string(part, "command")).collect()).unwrap_or_default();
    let env = container["env"]
        .as_array()
        .map(|env| {
            env.iter()
                .map(|variable| {
                    (string(&variable["name"], "env name"), string(&variable["value"], "env value (valueFrom is not run here)"))
                })
                .collect()
        })
        .unwrap_or_default();

    let probe = &container["readinessProbe"]["httpGet"];
    let readiness_path = string(&probe["path"], "readinessProbe.httpGet.path");
    let port = match &probe["port"] {
        Value::Number(number) => number.as_u64().unwrap() as u16,
        Value::String(name) => container["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|port| port["name"] == name.as_str())
            .and_then(|port| port["containerPort"].as_u64())
            .unwrap_or_else(|| panic!("no container port named {name}")) as u16,
        other => panic!("readinessProbe port {other:?}"),
    };

    let volumes = spec["volumes"].as_array().cloned().unwrap_or_default();
    let mut mounts = Vec::new();
    for mount in container["volumeMounts"].as_array().cloned().unwrap_or_default() {
        let name = string(&mount["name"], "volumeMount name");
        let volume = volumes.iter().find(|volume| volume["name"] == name.as_str()).expect("the mount's volume");
        let config_map = string(&volume["configMap"]["name"], "a configMap volume (the only kind run here)");
        let data = &objects
            .iter()
            .find(|object| object.kind() == "ConfigMap" && object.name() == config_map)
            .unwrap_or_else(|| panic!("ConfigMap {config_map} is rendered"))
            .value["data"];
        let key = string(&mount["subPath"], "subPath (a whole-directory configMap mount is not run here)");
        let file = files.join(format!("{name}-{key}"));
        std::fs::write(&file, string(&data[key.as_str()], "ConfigMap data")).unwrap();
        mounts.push((file, string(&mount["mountPath"], "mountPath")));
    }

    // Kubernetes' default when the pod does not set it.
    let termination_grace = Duration::from_secs(spec["terminationGracePeriodSeconds"].as_u64().unwrap_or(30));
    let runtime_class = spec["runtimeClassName"].as_str().map(str::to_owned);
    let cpu_limit = container["resources"]["limits"]["cpu"].as_str().map(str::to_owned);
    let security = SecurityContext::read(spec, container);
    Pod { command, env, port, readiness_path, mounts, termination_grace, cpu_limit, runtime_class, security }
}
