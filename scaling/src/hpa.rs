//! What the HorizontalPodAutoscaler that KEDA creates does with KEDA's
//! desired count: the tolerance, the scale-up and scale-down policies, and
//! the stabilization windows of `behavior`.
//!
//! Modelled from the documentation, not from a cluster:
//! - Kubernetes, "Horizontal Pod Autoscaling",
//!   <https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/>:
//!   "Algorithm details" (desired = ceil(current × value / target), the 0.1
//!   tolerance), "Configurable scaling behavior" (policies, periodSeconds,
//!   selectPolicy, the stabilization window) and "Default Behavior";
//! - KEDA 2.20, "ScaledObject specification",
//!   <https://keda.sh/docs/2.20/reference/scaledobject-spec/>: `pollingInterval`,
//!   `minReplicaCount`/`maxReplicaCount` (the HPA's min and max), and
//!   `advanced.horizontalPodAutoscalerConfig.behavior`, handed to the HPA
//!   unchanged; and "Scaling Deployments",
//!   <https://keda.sh/docs/2.20/concepts/scaling-deployments/>: KEDA serves
//!   the trigger to the HPA as an External metric with target
//!   `AverageValue = threshold`.
//!
//! The HPA asks for the metric on every sync of the controller manager
//! (`--horizontal-pod-autoscaler-sync-period`, 15 s by default), and KEDA
//! queries Prometheus for each of those asks unless the trigger sets
//! `useCachedMetrics`, in which case it answers with the value from its last
//! `pollingInterval` poll. [`Hpa::observe`] takes every value the preview
//! reads and runs one HPA sync whenever a sync period has passed, with the
//! newest value: the preview polls every `pollingInterval`, so the value a
//! sync sees is at most one polling interval old, as with `useCachedMetrics`.

use std::collections::VecDeque;

use anyhow::{Context, Result, bail};
use serde_yaml_ng::Value;

use crate::keda::ScalingRule;
use crate::manifests::ScaledObject;

/// The HPA's tolerance: no change while value / (threshold × replicas) is
/// within 1 ± 0.1 ("Algorithm details").
pub const TOLERANCE: f64 = 0.1;

/// kube-controller-manager's default `--horizontal-pod-autoscaler-sync-period`.
pub const DEFAULT_SYNC_PERIOD_SECONDS: f64 = 15.0;

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

/// `behavior.scaleUp` or `behavior.scaleDown`.
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
    /// "Default Behavior": scale up by the larger of 100 % and 4 pods every
    /// 15 s, without stabilization.
    pub fn default_scale_up() -> Self {
        Rules {
            stabilization_window_seconds: 0,
            select_policy: SelectPolicy::Max,
            policies: vec![
                Policy { kind: PolicyType::Percent, value: 100, period_seconds: 15 },
                Policy { kind: PolicyType::Pods, value: 4, period_seconds: 15 },
            ],
        }
    }

    /// "Default Behavior": scale down to the highest recommendation of the
    /// last 300 s, by up to 100 % every 15 s.
    pub fn default_scale_down() -> Self {
        Rules {
            stabilization_window_seconds: 300,
            select_policy: SelectPolicy::Max,
            policies: vec![Policy { kind: PolicyType::Percent, value: 100, period_seconds: 15 }],
        }
    }

    /// The fields a ScaledObject sets replace the default's; the rest stay
    /// (the API server fills a partial `scaleUp` or `scaleDown` the same way).
    fn parse(value: &Value, path: &str, defaults: Rules) -> Result<Rules> {
        let mut rules = defaults;
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
    fn default() -> Self {
        Behavior { scale_up: Rules::default_scale_up(), scale_down: Rules::default_scale_down() }
    }
}

impl Behavior {
    /// The behavior KEDA hands the HPA: `spec.advanced` of the ScaledObject,
    /// over the HPA's defaults. Any field the model does not know is an
    /// error naming it, never ignored.
    pub fn from_scaled_object(scaled_object: &ScaledObject) -> Result<Behavior> {
        let mut behavior = Behavior::default();
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
                            "behavior" => behavior = Behavior::parse(field)?,
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

/// One sync of the modelled HPA.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sync {
    /// Seconds since the model started.
    pub at: f64,
    pub value: f64,
    /// KEDA's ceil(value / threshold) within [min, max].
    pub keda_desired: u32,
    /// The HPA's recommendation from the metric, after the tolerance.
    pub recommendation: u32,
    /// The replicas before and after this sync.
    pub replicas_before: u32,
    pub replicas: u32,
}

/// The HPA's state between syncs: the replicas, its past recommendations
/// (for the stabilization windows) and its past scale events (for the
/// policies' periods).
#[derive(Clone, Debug)]
pub struct Hpa {
    rule: ScalingRule,
    behavior: Behavior,
    sync_period_seconds: f64,
    replicas: u32,
    next_sync: f64,
    recommendations: VecDeque<(f64, u32)>,
    /// (time, replicas added) and (time, replicas removed).
    scale_up_events: VecDeque<(f64, u32)>,
    scale_down_events: VecDeque<(f64, u32)>,
}

impl Hpa {
    /// An HPA with `replicas` running, syncing first at time 0.
    pub fn new(rule: ScalingRule, behavior: Behavior, replicas: u32, sync_period_seconds: f64) -> Hpa {
        Hpa {
            rule,
            behavior,
            sync_period_seconds,
            replicas,
            next_sync: 0.0,
            recommendations: VecDeque::new(),
            scale_up_events: VecDeque::new(),
            scale_down_events: VecDeque::new(),
        }
    }

    pub fn replicas(&self) -> u32 {
        self.replicas
    }

    /// The newest value, read at `at` seconds: runs a sync when one is due
    /// and returns it.
    pub fn observe(&mut self, at: f64, value: f64) -> Option<Sync> {
        if at < self.next_sync {
            return None;
        }
        // Syncs come every period, whenever the values arrive.
        while self.next_sync <= at {
            self.next_sync += self.sync_period_seconds;
        }
        Some(self.sync(at, value))
    }

    /// One reconcile of the HPA at `at` with the metric `value`.
    pub fn sync(&mut self, at: f64, value: f64) -> Sync {
        let current = self.replicas;
        let (min, max) = (self.rule.min_replicas, self.rule.max_replicas);
        let keda_desired = self.rule.decide(value).desired_replicas;
        let recommendation = metric_recommendation(value, self.rule.threshold, current);
        let replicas = if current == 0 {
            // The HPA is idle at 0; KEDA alone activates from there.
            current
        } else if current > max {
            max
        } else if current < min.max(1) {
            min.max(1)
        } else {
            self.recommendations.push_back((at, recommendation));
            let stabilized = self.stabilize(at, recommendation);
            self.limit_rate(at, stabilized)
        };
        if replicas > current {
            self.scale_up_events.push_back((at, replicas - current));
        } else if replicas < current {
            self.scale_down_events.push_back((at, current - replicas));
        }
        self.replicas = replicas;
        self.forget_before(at);
        Sync { at, value, keda_desired, recommendation, replicas_before: current, replicas }
    }

    /// "Stabilization window": up to the lowest recommendation of the
    /// scale-up window, down to the highest of the scale-down window.
    fn stabilize(&self, at: f64, recommendation: u32) -> u32 {
        let within = |window: u32| {
            let cutoff = at - f64::from(window);
            self.recommendations.iter().filter(move |(time, _)| *time > cutoff).map(|(_, r)| *r)
        };
        let up = within(self.behavior.scale_up.stabilization_window_seconds)
            .chain([recommendation])
            .min()
            .unwrap_or(recommendation);
        let down = within(self.behavior.scale_down.stabilization_window_seconds)
            .chain([recommendation])
            .max()
            .unwrap_or(recommendation);
        self.replicas.max(up).min(down)
    }

    /// "Scaling policies", and [min, max].
    fn limit_rate(&self, at: f64, desired: u32) -> u32 {
        let current = self.replicas;
        let (min, max) = (self.rule.min_replicas.max(1), self.rule.max_replicas);
        if desired > current {
            let limit = self.scale_up_limit(at).max(current);
            desired.min(limit).min(max)
        } else if desired < current {
            let limit = self.scale_down_limit(at).min(current);
            desired.max(limit).max(min)
        } else {
            desired
        }
    }

    /// The replicas at the start of each policy's period, and what the policy
    /// allows from there.
    fn period_start(&self, at: f64, period_seconds: u32) -> i64 {
        let cutoff = at - f64::from(period_seconds);
        let sum = |events: &VecDeque<(f64, u32)>| -> i64 {
            events.iter().filter(|(time, _)| *time > cutoff).map(|(_, n)| i64::from(*n)).sum()
        };
        i64::from(self.replicas) - sum(&self.scale_up_events) + sum(&self.scale_down_events)
    }

    fn scale_up_limit(&self, at: f64) -> u32 {
        let rules = &self.behavior.scale_up;
        let proposals = rules.policies.iter().map(|policy| {
            let start = self.period_start(at, policy.period_seconds);
            match policy.kind {
                PolicyType::Pods => start + i64::from(policy.value),
                // Rounded up, or a small deployment could never grow.
                PolicyType::Percent => (start as f64 * (1.0 + f64::from(policy.value) / 100.0)).ceil() as i64,
            }
        });
        let limit = match rules.select_policy {
            SelectPolicy::Disabled => return self.replicas,
            SelectPolicy::Max => proposals.max(),
            SelectPolicy::Min => proposals.min(),
        };
        clamp_u32(limit.unwrap_or(i64::from(self.replicas)))
    }

    fn scale_down_limit(&self, at: f64) -> u32 {
        let rules = &self.behavior.scale_down;
        let proposals = rules.policies.iter().map(|policy| {
            let start = self.period_start(at, policy.period_seconds);
            match policy.kind {
                PolicyType::Pods => start - i64::from(policy.value),
                // Truncated: the pods removed are rounded up.
                PolicyType::Percent => (start as f64 * (1.0 - f64::from(policy.value) / 100.0)) as i64,
            }
        });
        // Max allows the largest change, which for scaling down is the lowest count.
        let limit = match rules.select_policy {
            SelectPolicy::Disabled => return self.replicas,
            SelectPolicy::Max => proposals.min(),
            SelectPolicy::Min => proposals.max(),
        };
        clamp_u32(limit.unwrap_or(i64::from(self.replicas)))
    }

    fn forget_before(&mut self, at: f64) {
        let longest_window = self
            .behavior
            .scale_up
            .stabilization_window_seconds
            .max(self.behavior.scale_down.stabilization_window_seconds);
        let longest_period = self
            .behavior
            .scale_up
            .policies
            .iter()
            .chain(&self.behavior.scale_down.policies)
            .map(|policy| policy.period_seconds)
            .max()
            .unwrap_or(0);
        let keep_after = |seconds: u32| at - f64::from(seconds);
        while self.recommendations.front().is_some_and(|(time, _)| *time <= keep_after(longest_window)) {
            self.recommendations.pop_front();
        }
        for events in [&mut self.scale_up_events, &mut self.scale_down_events] {
            while events.front().is_some_and(|(time, _)| *time <= keep_after(longest_period)) {
                events.pop_front();
            }
        }
    }
}

fn clamp_u32(value: i64) -> u32 {
    value.clamp(0, i64::from(u32::MAX)) as u32
}

/// The HPA's count for an External metric with target AverageValue =
/// threshold: unchanged while value / (threshold × current) is within the
/// tolerance, else ceil(value / threshold).
pub fn metric_recommendation(value: f64, threshold: f64, current: u32) -> u32 {
    if current == 0 {
        return 0;
    }
    let usage_ratio = value / (threshold * f64::from(current));
    if (usage_ratio - 1.0).abs() <= TOLERANCE {
        current
    } else {
        clamp_u32((value / threshold).ceil().max(0.0) as i64)
    }
}

/// The replicas the HPA would have after each value of `history` (seconds
/// since the start, value), starting from `replicas`, syncing every
/// `sync_period_seconds`: a pure function of its arguments.
pub fn replay(
    rule: &ScalingRule,
    behavior: &Behavior,
    replicas: u32,
    sync_period_seconds: f64,
    history: &[(f64, f64)],
) -> Vec<Sync> {
    let mut hpa = Hpa::new(rule.clone(), behavior.clone(), replicas, sync_period_seconds);
    history.iter().filter_map(|&(at, value)| hpa.observe(at, value)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(min: u32, max: u32) -> ScalingRule {
        ScalingRule {
            server_address: "http://prometheus:9090".into(),
            query: "q".into(),
            threshold: 10.0,
            activation_threshold: 0.5,
            min_replicas: min,
            max_replicas: max,
            polling_interval_seconds: 15,
        }
    }

    fn scaled_object(advanced: &str) -> ScaledObject {
        let yaml = format!(
            "metadata: {{name: test, namespace: test}}\n\
             spec:\n  scaleTargetRef: {{name: test}}\n  triggers: []\n  advanced:\n{advanced}"
        );
        serde_yaml_ng::from_str(&yaml).unwrap()
    }

    fn behavior(yaml: &str) -> Result<Behavior> {
        Behavior::from_scaled_object(&scaled_object(yaml))
    }

    #[test]
    fn the_ratio_of_value_to_target_decides_and_the_tolerance_holds_still() {
        // "Algorithm details": 200m against 100m doubles, 50m halves.
        assert_eq!(metric_recommendation(0.2 * 4.0, 0.1, 4), 8);
        assert_eq!(metric_recommendation(0.05 * 4.0, 0.1, 4), 2);
        // Within 1 ± 0.1 of the target, nothing changes.
        assert_eq!(metric_recommendation(43.9, 10.0, 4), 4);
        assert_eq!(metric_recommendation(36.1, 10.0, 4), 4);
        assert_eq!(metric_recommendation(44.1, 10.0, 4), 5);
        assert_eq!(metric_recommendation(35.9, 10.0, 4), 4);
        assert_eq!(metric_recommendation(29.9, 10.0, 4), 3);
        // At 1 replica the tolerance is ±1 req/s around the threshold.
        assert_eq!(metric_recommendation(10.9, 10.0, 1), 1);
        assert_eq!(metric_recommendation(11.1, 10.0, 1), 2);
    }

    #[test]
    fn defaults_where_the_scaled_object_sets_nothing() {
        let mut empty = scaled_object("    {}");
        assert_eq!(Behavior::from_scaled_object(&empty).unwrap(), Behavior::default());
        empty.spec.advanced = None;
        let behavior = Behavior::from_scaled_object(&empty).unwrap();
        assert_eq!(behavior, Behavior::default());
        assert_eq!(behavior.scale_down.stabilization_window_seconds, 300);
        assert_eq!(behavior.scale_up.stabilization_window_seconds, 0);
    }

    #[test]
    fn default_scale_up_is_the_larger_of_100_percent_and_4_pods_per_15_s() {
        let mut hpa = Hpa::new(rule(1, 100), Behavior::default(), 1, 15.0);
        // 1 → 5 (4 pods beat 100 %), 5 → 10 (100 % beats 4 pods), 10 → 20.
        let steps: Vec<u32> = (0..4).map(|i| hpa.sync(f64::from(i) * 15.0, 1000.0).replicas).collect();
        assert_eq!(steps, [5, 10, 20, 40]);
        // Twice within one period: the second sync may not add more.
        let mut hpa = Hpa::new(rule(1, 100), Behavior::default(), 1, 15.0);
        assert_eq!(hpa.sync(0.0, 1000.0).replicas, 5);
        assert_eq!(hpa.sync(5.0, 1000.0).replicas, 5);
        assert_eq!(hpa.sync(15.0, 1000.0).replicas, 10);
    }

    #[test]
    fn default_scale_down_waits_300_s_for_the_highest_recommendation() {
        let mut hpa = Hpa::new(rule(1, 100), Behavior::default(), 1, 15.0);
        assert_eq!(hpa.sync(0.0, 60.0).replicas, 5);
        assert_eq!(hpa.sync(15.0, 60.0).replicas, 6);
        let mut t = 30.0;
        while t < 315.0 {
            assert_eq!(hpa.sync(t, 0.0).replicas, 6, "at {t}");
            t += 15.0;
        }
        // The 60 req/s recommendation at 15 s has left the window; 100 % per 15 s allows the whole way.
        assert_eq!(hpa.sync(315.0, 0.0).replicas, 1);
    }

    #[test]
    fn the_docs_example_of_4_pods_or_10_percent_per_minute_scales_down() {
        // "Scaling policies": 80 replicas scaling to 10, Pods 4/60 s and
        // Percent 10/60 s, selectPolicy Max: 8 go first; at 72, 10 % is 7.2,
        // rounded up to 8 pods; below 40 replicas the Pods policy, 4 a time.
        let behavior = behavior(
            "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleDown:\n          \
             stabilizationWindowSeconds: 0\n          policies:\n          - {type: Pods, value: 4, periodSeconds: 60}\n          \
             - {type: Percent, value: 10, periodSeconds: 60}\n",
        )
        .unwrap();
        let mut hpa = Hpa::new(rule(1, 100), behavior, 80, 15.0);
        let counts: Vec<u32> = (0..14).map(|minute| hpa.sync(f64::from(minute) * 60.0, 100.0).replicas).collect();
        // 10 % of 80, 72, 64, 57, 51, 45 (rounded up to whole pods), then 4 a time from 40.
        assert_eq!(counts, [72, 64, 57, 51, 45, 40, 36, 32, 28, 24, 20, 16, 12, 10]);
        // Within one minute no second step.
        let mut hpa2 = Hpa::new(rule(1, 100), hpa.behavior.clone(), 80, 15.0);
        assert_eq!(hpa2.sync(0.0, 100.0).replicas, 72);
        assert_eq!(hpa2.sync(30.0, 100.0).replicas, 72);
    }

    #[test]
    fn select_policy_min_and_disabled() {
        let min = behavior(
            "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleUp:\n          selectPolicy: Min\n",
        )
        .unwrap();
        // Min of 100 % and 4 pods: from 10, 14.
        let mut hpa = Hpa::new(rule(1, 100), min, 10, 15.0);
        assert_eq!(hpa.sync(0.0, 1000.0).replicas, 14);
        let disabled = behavior(
            "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleDown:\n          selectPolicy: Disabled\n",
        )
        .unwrap();
        let mut hpa = Hpa::new(rule(1, 100), disabled, 10, 15.0);
        assert_eq!(hpa.sync(0.0, 0.0).replicas, 10);
        assert_eq!(hpa.sync(1000.0, 0.0).replicas, 10);
        assert_eq!(hpa.sync(1015.0, 1000.0).replicas, 20);
    }

    #[test]
    fn scale_up_stabilization_takes_the_lowest_recommendation() {
        let behavior = behavior(
            "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleUp:\n          stabilizationWindowSeconds: 30\n",
        )
        .unwrap();
        let mut hpa = Hpa::new(rule(1, 100), behavior, 1, 15.0);
        assert_eq!(hpa.sync(0.0, 5.0).replicas, 1);
        assert_eq!(hpa.sync(15.0, 60.0).replicas, 1, "the 0 s recommendation of 1 is still in the window");
        assert_eq!(hpa.sync(30.0, 60.0).replicas, 5, "only 6s in the window; 4 pods per 15 s");
        assert_eq!(hpa.sync(45.0, 60.0).replicas, 6);
    }

    #[test]
    fn min_and_max_bound_the_replicas() {
        let mut hpa = Hpa::new(rule(2, 6), Behavior::default(), 1, 15.0);
        assert_eq!(hpa.sync(0.0, 0.0).replicas, 2, "below min jumps to min");
        assert_eq!(hpa.sync(15.0, 1000.0).replicas, 6, "capped at max");
        let mut hpa = Hpa::new(rule(1, 6), Behavior::default(), 9, 15.0);
        assert_eq!(hpa.sync(0.0, 1000.0).replicas, 6, "above max falls to max");
    }

    #[test]
    fn the_shipped_scale_down_halves_every_15_s_after_60_s() {
        let behavior = behavior(
            "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleDown:\n          \
             stabilizationWindowSeconds: 60\n          policies:\n          - {type: Percent, value: 50, periodSeconds: 15}\n",
        )
        .unwrap();
        let history: Vec<(f64, f64)> =
            (0..20).map(|i| (f64::from(i) * 15.0, if i < 2 { 80.0 } else { 0.0 })).collect();
        let replicas: Vec<u32> = replay(&rule(1, 10), &behavior, 1, 15.0, &history).iter().map(|s| s.replicas).collect();
        // 1 → 5 → 8; the last 8 (at 15 s) holds until it leaves the 60 s
        // window at 75 s, then halving every 15 s: 4, 2, 1.
        assert_eq!(replicas[..10], [5, 8, 8, 8, 8, 4, 2, 1, 1, 1]);
    }

    #[test]
    fn observe_syncs_once_per_period() {
        let mut hpa = Hpa::new(rule(1, 10), Behavior::default(), 1, 15.0);
        let synced: Vec<f64> =
            (0..10).filter_map(|i| hpa.observe(f64::from(i) * 5.0, 30.0)).map(|sync| sync.at).collect();
        assert_eq!(synced, [0.0, 15.0, 30.0, 45.0]);
    }

    #[test]
    fn unknown_fields_are_refused_by_name() {
        let cases = [
            ("    scalingModifiers: {formula: x}\n", "spec.advanced.scalingModifiers"),
            (
                "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleUp:\n          tolerance: 0.05\n",
                "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.tolerance",
            ),
            (
                "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleDown:\n          selectPolicy: Fastest\n",
                "behavior.scaleDown.selectPolicy",
            ),
            (
                "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleDown:\n          policies:\n          - {type: Cpu, value: 1, periodSeconds: 15}\n",
                "behavior.scaleDown.policies[0].type",
            ),
            (
                "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleDown:\n          policies:\n          - {type: Pods, value: 1, periodSeconds: 15, burst: 2}\n",
                "behavior.scaleDown.policies[0].burst",
            ),
            ("    horizontalPodAutoscalerConfig:\n      behaviour: {}\n", "horizontalPodAutoscalerConfig.behaviour"),
            (
                "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleUp:\n          stabilizationWindowSeconds: 4000\n",
                "stabilizationWindowSeconds is 4000",
            ),
        ];
        for (yaml, named) in cases {
            let error = format!("{:#}", behavior(yaml).unwrap_err());
            assert!(error.contains(named), "{yaml}: {error}");
        }
    }

    #[test]
    fn the_shipped_scaled_object_is_modelled() {
        let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/base");
        let scaled_object: ScaledObject = crate::manifests::load(&directory, "ScaledObject").unwrap();
        let behavior = Behavior::from_scaled_object(&scaled_object).unwrap();
        assert_eq!(behavior.scale_up, Rules::default_scale_up());
        assert_ne!(behavior.scale_down, Rules::default_scale_down());
    }
}
