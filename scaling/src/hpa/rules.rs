//! The controller's rules, one function each, as `horizontal.go` and
//! `replica_calculator.go` write them (the functions named in the module
//! above): the tolerance, the stabilization windows, the scale events and
//! the policies' limits. [`super::Hpa`] applies them sync by sync.

use super::{PolicyType, Rules, SelectPolicy};
use crate::keda::{MetricType, milli_units};

/// kube-controller-manager's default `--horizontal-pod-autoscaler-tolerance`:
/// no change while the usage ratio is within [0.9, 1.1] (`Tolerances.isWithin`).
pub const TOLERANCE: f64 = 0.1;

/// kube-controller-manager's default `--horizontal-pod-autoscaler-sync-period`.
pub const DEFAULT_SYNC_PERIOD_SECONDS: f64 = 15.0;

/// kube-controller-manager's default
/// `--horizontal-pod-autoscaler-downscale-stabilization` (5 minutes): the
/// scale-down window of an HPA without `behavior`, and of a `behavior.scaleDown`
/// that sets none (`maybeInitScaleDownStabilizationWindow`).
pub const DOWNSCALE_STABILIZATION_SECONDS: u32 = 300;

/// Whether a record stamped `then` is still inside a window of `seconds` at
/// `now`: the code keeps a record while its stamp is `After(now − window)`,
/// so the boundary is open. On the model's schedule, a record a whole number
/// of periods old is outside; whether the real controller's is depends on
/// the milliseconds between its syncs (see the module's note on the queue).
pub fn within(then: f64, now: f64, seconds: u32) -> bool {
    now - then < f64::from(seconds)
}

/// One unstabilized recommendation the controller keeps per HPA
/// (`timestampedRecommendation`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recommendation {
    pub replicas: u32,
    pub at: f64,
}

/// One change of the replicas, kept per HPA and per direction
/// (`timestampedScaleEvent`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScaleEvent {
    /// How many replicas were added, or removed (never negative).
    pub replica_change: u32,
    pub at: f64,
    /// Older than the longest policy period of its direction when an event
    /// of that direction was last stored, and so free to be overwritten.
    pub outdated: bool,
}

/// Both stabilization paths store the newest recommendation the same way:
/// over the last record found old (the code keeps only the index of the last
/// one it saw), or appended when none is.
pub(super) fn store_recommendation(recommendations: &mut Vec<Recommendation>, old: Option<usize>, newest: Recommendation) {
    match old {
        Some(index) => recommendations[index] = newest,
        None => recommendations.push(newest),
    }
}

/// `stabilizeRecommendation`, the path of an HPA without `behavior`: the
/// highest of `desired` and every recommendation of the last `window`
/// seconds. Not bounded by the current replicas: a higher recommendation
/// in the window can scale up.
pub fn stabilize_without_behavior(
    recommendations: &mut Vec<Recommendation>,
    now: f64,
    desired: u32,
    window: u32,
) -> u32 {
    let mut highest = desired;
    let mut old = None;
    for (index, recommendation) in recommendations.iter().enumerate() {
        if !within(recommendation.at, now, window) {
            old = Some(index);
        } else {
            highest = highest.max(recommendation.replicas);
        }
    }
    store_recommendation(recommendations, old, Recommendation { replicas: desired, at: now });
    highest
}

/// `stabilizeRecommendationWithBehaviors`: the current replicas, raised to
/// the lowest recommendation of the scale-up window and lowered to the
/// highest of the scale-down window (`desired` counts in both). A record is
/// old only once it has left both windows.
pub fn stabilize_with_behavior(
    recommendations: &mut Vec<Recommendation>,
    now: f64,
    current: u32,
    desired: u32,
    scale_up_window: u32,
    scale_down_window: u32,
) -> u32 {
    let (mut up, mut down) = (desired, desired);
    let mut old = None;
    for (index, recommendation) in recommendations.iter().enumerate() {
        let in_up = within(recommendation.at, now, scale_up_window);
        let in_down = within(recommendation.at, now, scale_down_window);
        if in_up {
            up = up.min(recommendation.replicas);
        }
        if in_down {
            down = down.max(recommendation.replicas);
        }
        if !in_up && !in_down {
            old = Some(index);
        }
    }
    store_recommendation(recommendations, old, Recommendation { replicas: desired, at: now });
    current.max(up).min(down)
}

/// `getReplicasChangePerPeriod`: the replicas added (or removed) by the
/// events of the last `period_seconds`, outdated or not.
pub fn replicas_changed_within(events: &[ScaleEvent], now: f64, period_seconds: u32) -> u32 {
    events.iter().filter(|event| within(event.at, now, period_seconds)).map(|event| event.replica_change).sum()
}

/// `storeScaleEvent` for one direction: `markScaleEventsOutdated` flags the
/// events older than that direction's longest policy period, and the new
/// event overwrites the last flagged one, or is appended. So an event of one
/// direction lives only as long as its own direction's longest period, and
/// the other direction's limit, which counts it over its own periods, no
/// longer sees it once it has been overwritten.
pub fn store_scale_event(events: &mut Vec<ScaleEvent>, now: f64, replica_change: u32, longest_policy_period: u32) {
    let mut old = None;
    for (index, event) in events.iter_mut().enumerate() {
        if !within(event.at, now, longest_policy_period) {
            event.outdated = true;
        }
        if event.outdated {
            old = Some(index);
        }
    }
    let newest = ScaleEvent { replica_change, at: now, outdated: false };
    match old {
        Some(index) => events[index] = newest,
        None => events.push(newest),
    }
}

/// `getLongestPolicyPeriod`.
pub(super) fn longest_policy_period(rules: &Rules) -> u32 {
    rules.policies.iter().map(|policy| policy.period_seconds).max().unwrap_or(0)
}

/// The replicas at the start of `period_seconds`: the current ones less what
/// was added and plus what was removed within it, as both limits count them.
pub(super) fn period_start(current: u32, up: &[ScaleEvent], down: &[ScaleEvent], now: f64, period_seconds: u32) -> i64 {
    i64::from(current) - i64::from(replicas_changed_within(up, now, period_seconds))
        + i64::from(replicas_changed_within(down, now, period_seconds))
}

/// `calculateScaleUpLimitWithScalingRules`.
pub fn scale_up_limit(current: u32, up: &[ScaleEvent], down: &[ScaleEvent], rules: &Rules, now: f64) -> i64 {
    let proposals = rules.policies.iter().map(|policy| {
        let start = period_start(current, up, down, now, policy.period_seconds);
        match policy.kind {
            PolicyType::Pods => start + i64::from(policy.value),
            // Rounded up, or a small deployment could never grow.
            PolicyType::Percent => (start as f64 * (1.0 + f64::from(policy.value) / 100.0)).ceil() as i64,
        }
    });
    match rules.select_policy {
        SelectPolicy::Disabled => i64::from(current),
        SelectPolicy::Max => proposals.max().unwrap_or(i64::from(i32::MIN)),
        SelectPolicy::Min => proposals.min().unwrap_or(i64::from(i32::MAX)),
    }
}

/// `calculateScaleDownLimitWithBehaviors`.
pub fn scale_down_limit(current: u32, up: &[ScaleEvent], down: &[ScaleEvent], rules: &Rules, now: f64) -> i64 {
    let proposals = rules.policies.iter().map(|policy| {
        let start = period_start(current, up, down, now, policy.period_seconds);
        match policy.kind {
            PolicyType::Pods => start - i64::from(policy.value),
            // Truncated (Go's int32 conversion): the pods removed round up.
            PolicyType::Percent => (start as f64 * (1.0 - f64::from(policy.value) / 100.0)) as i64,
        }
    });
    // The largest change down is the lowest count.
    match rules.select_policy {
        SelectPolicy::Disabled => i64::from(current),
        SelectPolicy::Max => proposals.min().unwrap_or(i64::from(i32::MAX)),
        SelectPolicy::Min => proposals.max().unwrap_or(i64::from(i32::MIN)),
    }
}

/// `calculateScaleUpLimit`, the only rate limit of an HPA without
/// `behavior`: twice the current replicas or 4, whichever is more, per sync,
/// with no memory of earlier syncs.
pub fn scale_up_limit_without_behavior(current: u32) -> u32 {
    current.saturating_mul(2).max(4)
}

/// `convertDesiredReplicasWithRules`: [min, min(max, the scale-up limit)];
/// scaling down has no rate limit on this path.
pub fn convert_without_behavior(current: u32, desired: u32, min: u32, max: u32) -> u32 {
    let highest = max.min(scale_up_limit_without_behavior(current));
    if desired < min {
        min
    } else if desired > highest {
        highest
    } else {
        desired
    }
}

/// The HPA's count for the external metric KEDA serves, before any
/// stabilization: `GetExternalPerPodMetricReplicas` for `AverageValue`
/// (value / (target × replicas) is the usage ratio; outside the tolerance,
/// ceil(value / target)) and `GetExternalMetricReplicas` for `Value` (value /
/// target is the ratio; outside the tolerance, ceil(ratio × ready pods), the
/// ready pods being the replicas here). Both work on the thousandths KEDA's
/// adapter hands over, not on the query's float.
pub fn metric_recommendation(metric_type: MetricType, value: f64, threshold: f64, current: u32) -> u32 {
    let usage = milli_units(value) as f64;
    let target = milli_units(threshold) as f64;
    if current == 0 {
        // Unreachable from a sync (the HPA does not act at 0 replicas); the
        // code's answer for 0 is ceil of the ratio.
        return saturate((usage / target).ceil());
    }
    match metric_type {
        MetricType::AverageValue => {
            if within_tolerance(usage / (target * f64::from(current))) {
                current
            } else {
                saturate((usage / target).ceil())
            }
        }
        MetricType::Value => {
            let usage_ratio = usage / target;
            if within_tolerance(usage_ratio) { current } else { saturate((usage_ratio * f64::from(current)).ceil()) }
        }
    }
}

/// `Tolerances.isWithin` (1.33 and later) with the controller's default
/// tolerance in both directions: 1 − 0.1 ≤ ratio ≤ 1 + 0.1, both ends
/// included. `1.0 + 0.1` is the same double as a ratio of 1.1, so 44 against
/// 4 × 10 holds; the older `|1 − ratio| ≤ 0.1` did not.
pub fn within_tolerance(usage_ratio: f64) -> bool {
    ((1.0 - TOLERANCE)..=(1.0 + TOLERANCE)).contains(&usage_ratio)
}

/// Go converts a too-large ratio to `math.MaxInt32`; the model saturates the same way.
pub(super) fn saturate(replicas: f64) -> u32 {
    if replicas.is_nan() || replicas <= 0.0 {
        0
    } else {
        replicas.min(f64::from(i32::MAX)) as u32
    }
}

