//! The HPA's `behavior` as KEDA hands it over from the ScaledObject, with
//! the API server's defaults filled in. Parsed field by field so that a
//! field the model does not know is refused with its path, never ignored.

use anyhow::{Context, Result, bail};
use serde_yaml_ng::Value;

use super::DOWNSCALE_STABILIZATION_SECONDS;
use crate::manifests::ScaledObject;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyType {
    /// At most `value` pods per period.
    Pods,
    /// At most `value` percent of the replicas at the start of the period.
    Percent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub kind: PolicyType,
    pub value: u32,
    pub period_seconds: u32,
}

/// Which policy wins when several apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// `policies` list replaces the default list whole.
    fn parse(value: &Value, path: &str, defaults: Rules) -> Result<Rules> {
        let mut rules = defaults;
        if value.is_null() {
            return Ok(rules);
        }
        for (key, field) in mapping(value, path)? {
            let field_path = format!("{path}.{key}");
            match key.as_str() {
                "stabilizationWindowSeconds" => {
                    let seconds = integer(field, &field_path)?;
                    if seconds > 3600 {
                        bail!("{field_path} is {seconds}; the HPA accepts 0 to 3600");
                    }
                    rules.stabilization_window_seconds = seconds;
                }
                "selectPolicy" => {
                    rules.select_policy = match field.as_str() {
                        Some("Max") => SelectPolicy::Max,
                        Some("Min") => SelectPolicy::Min,
                        Some("Disabled") => SelectPolicy::Disabled,
                        _ => bail!("{field_path} is {field:?}; the model knows Max, Min and Disabled"),
                    }
                }
                "policies" => {
                    let Some(items) = field.as_sequence() else {
                        bail!("{field_path} is not a list");
                    };
                    if items.is_empty() {
                        bail!("{field_path} is empty; the HPA needs at least one policy");
                    }
                    rules.policies = items
                        .iter()
                        .enumerate()
                        .map(|(index, item)| Policy::parse(item, &format!("{field_path}[{index}]")))
                        .collect::<Result<_>>()?;
                }
                // Beta and on by default in 1.35 (`HPAConfigurableTolerance`).
                "tolerance" => bail!(
                    "{field_path} is not modelled: Kubernetes 1.35 honours a per-direction tolerance, \
                     and the model has only the controller's 0.1"
                ),
                _ => bail!(
                    "{field_path} is not modelled (known: stabilizationWindowSeconds, selectPolicy, policies); \
                     the preview will not guess what the HPA does with it"
                ),
            }
        }
        Ok(rules)
    }
}

impl Policy {
    fn parse(value: &Value, path: &str) -> Result<Policy> {
        let (mut kind, mut amount, mut period) = (None, None, None);
        for (key, field) in mapping(value, path)? {
            let field_path = format!("{path}.{key}");
            match key.as_str() {
                "type" => {
                    kind = Some(match field.as_str() {
                        Some("Pods") => PolicyType::Pods,
                        Some("Percent") => PolicyType::Percent,
                        _ => bail!("{field_path} is {field:?}; the model knows Pods and Percent"),
                    })
                }
                "value" => amount = Some(integer(field, &field_path)?),
                "periodSeconds" => {
                    let seconds = integer(field, &field_path)?;
                    if !(1..=1800).contains(&seconds) {
                        bail!("{field_path} is {seconds}; the HPA accepts 1 to 1800");
                    }
                    period = Some(seconds);
                }
                _ => bail!("{field_path} is not modelled (known: type, value, periodSeconds)"),
            }
        }
        Ok(Policy {
            kind: kind.with_context(|| format!("{path} has no type"))?,
            value: amount.with_context(|| format!("{path} has no value"))?,
            period_seconds: period.with_context(|| format!("{path} has no periodSeconds"))?,
        })
    }
}

fn mapping<'a>(value: &'a Value, path: &str) -> Result<Vec<(String, &'a Value)>> {
    let Some(map) = value.as_mapping() else {
        bail!("{path} is not a mapping");
    };
    map.iter()
        .map(|(key, field)| {
            let key = key.as_str().with_context(|| format!("{path} has a key that is not a string: {key:?}"))?;
            Ok((key.to_owned(), field))
        })
        .collect()
}

fn integer(value: &Value, path: &str) -> Result<u32> {
    value
        .as_u64()
        .and_then(|number| u32::try_from(number).ok())
        .with_context(|| format!("{path} is {value:?}, not a whole number"))
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
        let mut behavior = None;
        let Some(advanced) = &scaled_object.spec.advanced else {
            return Ok(behavior);
        };
        for (key, field) in mapping(advanced, "spec.advanced")? {
            match key.as_str() {
                // Only what happens when the ScaledObject is deleted.
                "restoreToOriginalReplicaCount" => {}
                "horizontalPodAutoscalerConfig" => {
                    let path = "spec.advanced.horizontalPodAutoscalerConfig";
                    for (key, field) in mapping(field, path)? {
                        match key.as_str() {
                            // Only the HPA's name.
                            "name" => {}
                            "behavior" if field.is_null() => behavior = None,
                            "behavior" => behavior = Some(Behavior::parse(field)?),
                            _ => bail!("{path}.{key} is not modelled (known: name, behavior)"),
                        }
                    }
                }
                _ => bail!(
                    "spec.advanced.{key} is not modelled (known: horizontalPodAutoscalerConfig, \
                     restoreToOriginalReplicaCount); the preview will not guess what it changes"
                ),
            }
        }
        Ok(behavior)
    }

    fn parse(value: &Value) -> Result<Behavior> {
        let path = "spec.advanced.horizontalPodAutoscalerConfig.behavior";
        let mut behavior = Behavior::default();
        for (key, field) in mapping(value, path)? {
            let field_path = format!("{path}.{key}");
            match key.as_str() {
                "scaleUp" => behavior.scale_up = Rules::parse(field, &field_path, Rules::default_scale_up())?,
                "scaleDown" => behavior.scale_down = Rules::parse(field, &field_path, Rules::default_scale_down())?,
                _ => bail!("{field_path} is not modelled (known: scaleUp, scaleDown)"),
            }
        }
        Ok(behavior)
    }
}
