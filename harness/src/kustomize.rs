//! `kubectl kustomize`, which renders a directory of `manifests/` exactly as
//! `kubectl apply -k` applies it.

use serde_json::Value;

use crate::repo_root;

/// One rendered object: its YAML text exactly as kustomize wrote it, and its
/// value.
#[derive(Clone, Debug)]
pub struct Object {
    pub text: String,
    pub value: Value,
}

impl Object {
    pub fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or_default()
    }
}

/// The objects `kubectl apply -k DIRECTORY` applies; `directory` is relative
/// to the repository's root.
pub fn render(directory: &str) -> Vec<Object> {
    let output = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(repo_root().join(directory))
        .output()
        .expect("kubectl 1.32 or later is on PATH (scripts/test.sh says how to install it)");
    assert!(output.status.success(), "kubectl kustomize {directory}: {}", String::from_utf8_lossy(&output.stderr));
    let rendered = String::from_utf8(output.stdout).expect("kustomize writes UTF-8");
    rendered
        .split("\n---\n")
        .map(|text| Object {
            text: text.trim_end().to_owned() + "\n",
            value: serde_yaml_ng::from_str(text).unwrap_or_else(|error| panic!("{directory}: {error}")),
        })
        .collect()
}

/// The values alone.
pub fn render_values(directory: &str) -> Vec<Value> {
    render(directory).into_iter().map(|object| object.value).collect()
}

/// The pod spec of the one Deployment among `objects`, and its one
/// container; `directory` names them in the failure.
pub fn the_pod<'a>(objects: &'a [Object], directory: &str) -> (&'a Value, &'a Value) {
    let spec = &the(objects, "Deployment")["spec"]["template"]["spec"];
    let containers = spec["containers"].as_array().unwrap_or_else(|| panic!("{directory}: the Deployment has no containers"));
    assert_eq!(containers.len(), 1, "{directory}: the pod has one container");
    (spec, &containers[0])
}

/// The one object of `kind`; several or none is a failure.
pub fn the<'a>(objects: &'a [Object], kind: &str) -> &'a Value {
    let mut matching = objects.iter().filter(|object| object.kind() == kind);
    let object = matching.next().unwrap_or_else(|| panic!("no {kind}"));
    assert!(matching.next().is_none(), "several {kind}");
    &object.value
}
