//! The decision KEDA 2.20 takes from a `prometheus` trigger with the default
//! metric type, `AverageValue`.

use anyhow::{Context, Result, bail};

use crate::manifests::ScaledObject;

/// The parts of a ScaledObject that turn a query result into replicas.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingRule {
    pub server_address: String,
    pub query: String,
    /// Target value per replica.
    pub threshold: f64,
    /// The trigger is active while the value is above this.
    pub activation_threshold: f64,
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub polling_interval_seconds: u64,
}

/// What KEDA and the HPA it drives make of one value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    pub value: f64,
    pub active: bool,
    /// ceil(value / threshold), clamped to [min, max].
    pub desired_replicas: u32,
}

impl ScalingRule {
    pub fn from_scaled_object(scaled_object: &ScaledObject) -> Result<Self> {
        let spec = &scaled_object.spec;
        let [trigger] = spec.triggers.as_slice() else {
            bail!("expected one trigger, found {}", spec.triggers.len());
        };
        if trigger.kind != "prometheus" {
            bail!("expected a prometheus trigger, found {:?}", trigger.kind);
        }
        let field = |name: &str| {
            trigger
                .metadata
                .get(name)
                .with_context(|| format!("the trigger has no {name}"))
        };
        let number = |name: &str| -> Result<f64> {
            let text = field(name)?;
            text.parse()
                .with_context(|| format!("{name} {text:?} is not a number"))
        };
        if let Some(metric_type) = trigger.metadata.get("metricType")
            && metric_type != "AverageValue"
        {
            bail!("only the default metricType AverageValue is modelled, not {metric_type}");
        }
        Ok(Self {
            server_address: field("serverAddress")?.clone(),
            query: field("query")?.clone(),
            threshold: number("threshold")?,
            activation_threshold: trigger
                .metadata
                .get("activationThreshold")
                .map_or(Ok(0.0), |_| number("activationThreshold"))?,
            min_replicas: spec.min_replica_count,
            max_replicas: spec.max_replica_count,
            polling_interval_seconds: spec.polling_interval,
        })
    }

    pub fn decide(&self, value: f64) -> Decision {
        let wanted = (value / self.threshold).ceil();
        // The float-to-int cast saturates, so a huge value clamps to max.
        let desired_replicas = (wanted.max(0.0) as u32).clamp(self.min_replicas, self.max_replicas);
        Decision { value, active: value > self.activation_threshold, desired_replicas }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> ScalingRule {
        ScalingRule {
            server_address: "http://prometheus:9090".into(),
            query: "q".into(),
            threshold: 10.0,
            activation_threshold: 0.5,
            min_replicas: 1,
            max_replicas: 10,
            polling_interval_seconds: 15,
        }
    }

    #[test]
    fn desired_is_ceil_of_value_over_threshold_clamped() {
        let rule = rule();
        assert_eq!(rule.decide(0.0).desired_replicas, 1);
        assert_eq!(rule.decide(10.0).desired_replicas, 1);
        assert_eq!(rule.decide(10.1).desired_replicas, 2);
        assert_eq!(rule.decide(87.0).desired_replicas, 9);
        assert_eq!(rule.decide(1e12).desired_replicas, 10);
    }

    #[test]
    fn active_above_the_activation_threshold() {
        let rule = rule();
        assert!(!rule.decide(0.0).active);
        assert!(!rule.decide(0.5).active);
        assert!(rule.decide(0.51).active);
    }
}
