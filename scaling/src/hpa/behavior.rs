//! The HPA's `behavior` as KEDA hands it over from the ScaledObject, with
//! the API server's defaults filled in. Read by serde with every field the
//! model does not know refused (`deny_unknown_fields`), and each error named
//! by its path in the ScaledObject (`serde_path_to_error`), never ignored.

use anyhow::{Result, anyhow, bail};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::DOWNSCALE_STABILIZATION_SECONDS;
use crate::manifests::ScaledObject;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum PolicyType {
    /// At most `value` pods per period.
    Pods,
    /// At most `value` percent of the replicas at the start of the period.
    Percent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", expecting = "a policy mapping")]
pub struct Policy {
    #[serde(rename = "type")]
    pub kind: PolicyType,
    pub value: u32,
    pub period_seconds: u32,
}

/// Which policy wins when several apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum SelectPolicy {
    /// The policy allowing the largest change (the default).
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// `behavior.scaleUp` or `behavior.scaleDown`, with the API server's
/// defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    pub stabilization_window_seconds: u32,
    pub select_policy: SelectPolicy,
    pub policies: Vec<Policy>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Behavior {
    pub scale_up: Rules,
    pub scale_down: Rules,
}

/// `spec.advanced` as written: the fields KEDA reads there.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", expecting = "a mapping")]
struct Advanced {
    /// Only what happens when the ScaledObject is deleted.
    #[serde(rename = "restoreToOriginalReplicaCount")]
    _restore_to_original_replica_count: Option<bool>,
    horizontal_pod_autoscaler_config: Option<HorizontalPodAutoscalerConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
struct HorizontalPodAutoscalerConfig {
    /// Only the HPA's name.
    #[serde(rename = "name")]
    _name: Option<String>,
    behavior: Option<BehaviorAsWritten>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", expecting = "a mapping")]
struct BehaviorAsWritten {
    scale_up: Option<RulesAsWritten>,
    scale_down: Option<RulesAsWritten>,
}

/// A direction's fields as written; those left out take the default's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", expecting = "a mapping")]
struct RulesAsWritten {
    stabilization_window_seconds: Option<u32>,
    select_policy: Option<SelectPolicy>,
    policies: Option<Vec<Policy>>,
    /// Read only to be refused with its reason.
    tolerance: Option<IgnoredAny>,
}

impl Rules {
    /// What the API server puts in `behavior.scaleUp` when a `behavior` leaves
    /// it out (`defaultHPAScaleUpRules`): the larger of 4 pods and 100 % per
    /// 15 s, without stabilization.
    pub fn default_scale_up() -> Self {
        Rules {
            stabilization_window_seconds: 0,
            select_policy: SelectPolicy::Max,
            policies: vec![
                Policy { kind: PolicyType::Pods, value: 4, period_seconds: 15 },
                Policy { kind: PolicyType::Percent, value: 100, period_seconds: 15 },
            ],
        }
    }

    /// `defaultHPAScaleDownRules`: 100 % per 15 s. The API server leaves the
    /// window unset and the controller fills in its
    /// `--horizontal-pod-autoscaler-downscale-stabilization`, 300 s by default.
    pub fn default_scale_down() -> Self {
        Rules {
            stabilization_window_seconds: DOWNSCALE_STABILIZATION_SECONDS,
            select_policy: SelectPolicy::Max,
            policies: vec![Policy { kind: PolicyType::Percent, value: 100, period_seconds: 15 }],
        }
    }

    /// The fields a ScaledObject sets replace the default's and the rest stay,
    /// field by field, as the API server's `copyHPAScalingRules` fills them; a
    /// `policies` list replaces the default list whole. The bounds are the
    /// API server's (`validateScalingRules`, `validateScalingPolicy` in
    /// `pkg/apis/autoscaling/validation`).
    fn over(defaults: Rules, written: Option<RulesAsWritten>, path: &str) -> Result<Rules> {
        let mut rules = defaults;
        let Some(written) = written else {
            return Ok(rules);
        };
        if written.tolerance.is_some() {
            // Beta and on by default in 1.35 (`HPAConfigurableTolerance`).
            bail!(
                "{path}.tolerance is not modelled: Kubernetes 1.35 honours a per-direction tolerance, \
                 and the model has only the controller's 0.1"
            );
        }
        if let Some(seconds) = written.stabilization_window_seconds {
            if seconds > 3600 {
                bail!("{path}.stabilizationWindowSeconds is {seconds}; the HPA accepts 0 to 3600");
            }
            rules.stabilization_window_seconds = seconds;
        }
        if let Some(select_policy) = written.select_policy {
            rules.select_policy = select_policy;
        }
        if let Some(policies) = written.policies {
            if policies.is_empty() {
                bail!("{path}.policies is empty; the HPA needs at least one policy");
            }
            for (index, policy) in policies.iter().enumerate() {
                if policy.value == 0 {
                    bail!("{path}.policies[{index}].value is 0; the HPA needs it greater than zero");
                }
                if !(1..=1800).contains(&policy.period_seconds) {
                    bail!("{path}.policies[{index}].periodSeconds is {}; the HPA accepts 1 to 1800", policy.period_seconds);
                }
            }
            rules.policies = policies;
        }
        Ok(rules)
    }
}

impl Default for Behavior {
    /// An empty `behavior: {}` as the API server fills it in.
    fn default() -> Self {
        Behavior { scale_up: Rules::default_scale_up(), scale_down: Rules::default_scale_down() }
    }
}

impl Behavior {
    /// The behavior KEDA hands the HPA (`controllers/keda/hpa.go`): the
    /// ScaledObject's `advanced.horizontalPodAutoscalerConfig.behavior`, over
    /// the API server's defaults, or `None` when the ScaledObject sets none:
    /// then the HPA has no `behavior` at all and the controller takes its
    /// other path ([`Hpa`]), which is not the defaults written out. Any field
    /// the model does not know is an error naming it, never ignored.
    pub fn from_scaled_object(scaled_object: &ScaledObject) -> Result<Option<Behavior>> {
        let Some(advanced) = &scaled_object.spec.advanced else {
            return Ok(None);
        };
        let advanced: Advanced = serde_path_to_error::deserialize(advanced.clone()).map_err(|error| {
            let field = match error.path().to_string() {
                path if path == "." => "spec.advanced".to_owned(),
                path => format!("spec.advanced.{path}"),
            };
            let reason = error.inner().to_string();
            // serde's words for a field or value the types do not have.
            let unmodelled = if reason.starts_with("unknown ") { "; the model will not guess what it changes" } else { "" };
            anyhow!("{field}: {reason}{unmodelled}")
        })?;
        let Some(written) = advanced.horizontal_pod_autoscaler_config.and_then(|config| config.behavior) else {
            return Ok(None);
        };
        let path = "spec.advanced.horizontalPodAutoscalerConfig.behavior";
        Ok(Some(Behavior {
            scale_up: Rules::over(Rules::default_scale_up(), written.scale_up, &format!("{path}.scaleUp"))?,
            scale_down: Rules::over(Rules::default_scale_down(), written.scale_down, &format!("{path}.scaleDown"))?,
        }))
    }
}

#[cfg(test)]
mod tests;
