//! The Grafana dashboard in manifests/monitoring is one Grafana loads, and
//! what kustomize applies is that file. Its queries run against a real
//! Prometheus in runner/tests/scaling/.

use std::collections::BTreeSet;

use scaling::dashboard::{self, Dashboard};
use scaling::manifests::{self, ScaledObject};
use serde_json::Value;

fn the_dashboard() -> Dashboard {
    Dashboard::load(&harness::repo_root().join(dashboard::PATH)).unwrap()
}

#[test]
fn the_dashboard_has_what_grafana_needs_to_load_it() {
    let dashboard = the_dashboard();
    // Grafana migrates dashboards from their schemaVersion; it must be there and recent.
    assert!(dashboard.schema_version >= 36, "schemaVersion {}", dashboard.schema_version);
    assert!(!dashboard.uid.is_empty() && dashboard.uid.len() <= 40, "uid {:?}", dashboard.uid);
    assert!(!dashboard.title.is_empty());
    let ids: BTreeSet<u32> = dashboard.panels.iter().map(|panel| panel.id).collect();
    assert_eq!(ids.len(), dashboard.panels.len(), "panel ids are not unique");

    // A datasource variable, and every panel and query uses it, so the
    // dashboard works whatever the Prometheus data source is called.
    let variable = dashboard.templating.list.iter().find(|v| v.kind == "datasource").expect("a datasource variable");
    assert_eq!(variable.query, "prometheus");
    let reference = format!("${{{}}}", variable.name);
    for panel in &dashboard.panels {
        assert_eq!(panel.kind, "timeseries", "{}", panel.title);
        assert_eq!((panel.datasource.kind.as_str(), panel.datasource.uid.as_str()), ("prometheus", reference.as_str()));
        assert!(!panel.targets.is_empty(), "{} has no query", panel.title);
        let ref_ids: BTreeSet<&str> = panel.targets.iter().map(|target| target.ref_id.as_str()).collect();
        assert_eq!(ref_ids.len(), panel.targets.len(), "{}: refIds are not unique", panel.title);
        for target in &panel.targets {
            assert_eq!(target.datasource, panel.datasource, "{}", panel.title);
            assert!(!target.expr.contains('$'), "{}: a Grafana variable in {:?} would not parse in Prometheus", panel.title, target.expr);
        }
        for key in ["x", "y", "w", "h"] {
            assert!(panel.grid_pos[key].is_u64(), "{}: gridPos.{key}", panel.title);
        }
    }
}

#[test]
fn the_dashboard_shows_what_the_issue_asks_for() {
    let dashboard = the_dashboard();
    let queries = dashboard.queries();
    let has = |needle: &str| queries.iter().any(|(_, expr)| expr.contains(needle));
    // The ScaledObject's query exactly, read from the manifest, so the two cannot drift apart.
    let scaled_object: ScaledObject = manifests::load(&harness::repo_root().join("manifests/base"), "ScaledObject").unwrap();
    let query = &scaled_object.spec.triggers[0].metadata["query"];
    assert!(queries.iter().any(|(_, expr)| expr == query), "no panel runs the ScaledObject's query {query}");
    for needle in [
        "kube_horizontalpodautoscaler_spec_target_metric",
        "sum by (pod) (rate(python_request_operations_total",
        "kube_horizontalpodautoscaler_status_desired_replicas",
        "kube_horizontalpodautoscaler_status_current_replicas",
        "histogram_quantile(0.99",
        "python_request_duration_seconds_bucket",
        "keda_scaler_metrics_value",
        "keda_scaler_errors_total",
    ] {
        assert!(has(needle), "no panel queries {needle}");
    }
    // KEDA names its HPA keda-hpa-<ScaledObject>.
    let hpa = format!("horizontalpodautoscaler=\"keda-hpa-{}\"", scaled_object.metadata.name);
    assert!(queries.iter().filter(|(_, expr)| expr.contains("kube_horizontalpodautoscaler")).all(|(_, expr)| expr.contains(&hpa)));
}

#[test]
fn kustomize_applies_the_dashboard_file_as_the_configmap_grafana_mounts() {
    let objects = harness::kustomize::render_values("manifests/monitoring");
    let config_map = objects.iter().find(|object| object["kind"] == "ConfigMap").expect("a ConfigMap");
    assert_eq!(config_map["metadata"]["namespace"], "monitoring");
    assert_eq!(config_map["metadata"]["labels"]["grafana_dashboard"], "1");
    let file = std::fs::read_to_string(harness::repo_root().join(dashboard::PATH)).unwrap();
    assert_eq!(config_map["data"]["keda-spin-autoscaling.json"].as_str(), Some(file.as_str()));

    // The patch mounts that ConfigMap, by its rendered name, under the
    // directory kube-prometheus's Grafana file provider reads.
    let patch: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(harness::repo_root().join("manifests/monitoring/grafana-deployment-patch.yaml")).unwrap(),
    )
    .unwrap();
    let spec = &patch["spec"]["template"]["spec"];
    let volume = &spec["volumes"][0];
    assert_eq!(volume["configMap"]["name"], config_map["metadata"]["name"]);
    let mount = &spec["containers"][0]["volumeMounts"][0];
    assert_eq!(spec["containers"][0]["name"], "grafana");
    assert_eq!(mount["name"], volume["name"]);
    assert!(mount["mountPath"].as_str().unwrap().starts_with("/grafana-dashboard-definitions/0/"));
}
