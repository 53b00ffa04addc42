//! Which `spec.advanced` documents the model reads, and how it refuses the
//! rest: each by the field's path in the ScaledObject and the reason.

use super::super::tests::behavior;

/// Above the cases below: `spec.advanced` down to `behavior`.
const HPA: &str = "    horizontalPodAutoscalerConfig:\n      behavior:\n";
const PATH: &str = "spec.advanced.horizontalPodAutoscalerConfig.behavior";
const UNMODELLED: &str = "; the model will not guess what it changes";

fn refused(yaml: &str) -> String {
    match behavior(yaml) {
        Ok(read) => panic!("{yaml} was read as {read:?}"),
        Err(error) => format!("{error:#}"),
    }
}

fn policy(fields: &str) -> String {
    format!("{HPA}        scaleDown:\n          policies:\n          - {{{fields}}}\n")
}

#[test]
fn fields_and_values_the_model_does_not_know_are_refused_by_path() {
    let cases = [
        ("    scalingModifiers: {formula: x}\n".to_owned(), format!(
            "spec.advanced.scalingModifiers: unknown field `scalingModifiers`, expected `restoreToOriginalReplicaCount` or `horizontalPodAutoscalerConfig`{UNMODELLED}"
        )),
        ("    horizontalPodAutoscalerConfig:\n      behaviour: {}\n".to_owned(), format!(
            "spec.advanced.horizontalPodAutoscalerConfig.behaviour: unknown field `behaviour`, expected `name` or `behavior`{UNMODELLED}"
        )),
        (format!("{HPA}        sideways: {{}}\n"), format!(
            "{PATH}.sideways: unknown field `sideways`, expected `scaleUp` or `scaleDown`{UNMODELLED}"
        )),
        (format!("{HPA}        scaleDown:\n          selectPolicy: Fastest\n"), format!(
            "{PATH}.scaleDown.selectPolicy: unknown variant `Fastest`, expected one of `Max`, `Min`, `Disabled`{UNMODELLED}"
        )),
        (policy("type: Cpu, value: 1, periodSeconds: 15"), format!(
            "{PATH}.scaleDown.policies[0].type: unknown variant `Cpu`, expected `Pods` or `Percent`{UNMODELLED}"
        )),
        (policy("type: Pods, value: 1, periodSeconds: 15, burst: 2"), format!(
            "{PATH}.scaleDown.policies[0].burst: unknown field `burst`, expected one of `type`, `value`, `periodSeconds`{UNMODELLED}"
        )),
        // Known to the API, with a reason of its own.
        (format!("{HPA}        scaleUp:\n          tolerance: 0.05\n"), format!(
            "{PATH}.scaleUp.tolerance is not modelled: Kubernetes 1.35 honours a per-direction tolerance, and the model has only the controller's 0.1"
        )),
    ];
    for (yaml, message) in cases {
        assert_eq!(refused(&yaml), message, "{yaml}");
    }
}

#[test]
fn values_out_of_the_apis_bounds_or_of_the_wrong_shape_are_refused_by_path() {
    let cases = [
        (format!("{HPA}        scaleUp:\n          stabilizationWindowSeconds: 4000\n"), format!(
            "{PATH}.scaleUp.stabilizationWindowSeconds is 4000; the HPA accepts 0 to 3600"
        )),
        (format!("{HPA}        scaleUp:\n          stabilizationWindowSeconds: -1\n"), format!(
            "{PATH}.scaleUp.stabilizationWindowSeconds: invalid value: integer `-1`, expected u32"
        )),
        (format!("{HPA}        scaleUp:\n          stabilizationWindowSeconds: 1.5\n"), format!(
            "{PATH}.scaleUp.stabilizationWindowSeconds: invalid type: floating point `1.5`, expected u32"
        )),
        (format!("{HPA}        scaleDown:\n          policies: []\n"), format!(
            "{PATH}.scaleDown.policies is empty; the HPA needs at least one policy"
        )),
        (format!("{HPA}        scaleDown:\n          policies: {{}}\n"), format!(
            "{PATH}.scaleDown.policies: invalid type: map, expected a sequence"
        )),
        (policy("type: Pods, periodSeconds: 15"), format!("{PATH}.scaleDown.policies[0]: missing field `value`")),
        (policy("type: Pods, value: 0, periodSeconds: 15"), format!(
            "{PATH}.scaleDown.policies[0].value is 0; the HPA needs it greater than zero"
        )),
        (policy("type: Pods, value: 1, periodSeconds: 0"), format!(
            "{PATH}.scaleDown.policies[0].periodSeconds is 0; the HPA accepts 1 to 1800"
        )),
        (policy("type: Pods, value: 1, periodSeconds: 1801"), format!(
            "{PATH}.scaleDown.policies[0].periodSeconds is 1801; the HPA accepts 1 to 1800"
        )),
        (format!("{HPA}        scaleDown: 3\n"), format!("{PATH}.scaleDown: invalid type: integer `3`, expected a mapping")),
        ("    horizontalPodAutoscalerConfig: 7\n".to_owned(),
            "spec.advanced.horizontalPodAutoscalerConfig: invalid type: integer `7`, expected a mapping".to_owned()),
        ("    7\n".to_owned(), "spec.advanced: invalid type: integer `7`, expected a mapping".to_owned()),
    ];
    for (yaml, message) in cases {
        assert_eq!(refused(&yaml), message, "{yaml}");
    }
}

#[test]
fn what_only_names_or_restores_is_read_and_a_null_is_left_out() {
    let named = "    restoreToOriginalReplicaCount: true\n    horizontalPodAutoscalerConfig:\n      name: x\n      behavior: null\n";
    assert_eq!(behavior(named).unwrap(), None);
    let up_null = behavior(&format!("{HPA}        scaleUp: null\n")).unwrap().expect("a behavior");
    assert_eq!(up_null, super::Behavior::default());
    // At the bounds, accepted.
    let bounds = format!(
        "{HPA}        scaleUp:\n          stabilizationWindowSeconds: 3600\n          policies:\n          - {{type: Pods, value: 1, periodSeconds: 1800}}\n"
    );
    let read = behavior(&bounds).unwrap().expect("a behavior").scale_up;
    assert_eq!((read.stabilization_window_seconds, read.policies[0].period_seconds), (3600, 1800));
}
