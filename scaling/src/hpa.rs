//! What the HorizontalPodAutoscaler that KEDA creates does with the metric
//! KEDA serves it, sync by sync: the tolerance, the stabilization windows and
//! the rate limits, on both of the controller's paths (an HPA with
//! `behavior`, and one without).
//!
//! Modelled from the controller's code, Kubernetes v1.35.4 (the version the
//! project's schemas pin), `pkg/controller/podautoscaler`:
//! - `horizontal.go`: `reconcileAutoscaler` (one sync) and
//!   `recordInitialRecommendation`; without `behavior`,
//!   `normalizeDesiredReplicas` with `stabilizeRecommendation`,
//!   `convertDesiredReplicasWithRules` and `calculateScaleUpLimit`; with it,
//!   `normalizeDesiredReplicasWithBehaviors` with
//!   `stabilizeRecommendationWithBehaviors`,
//!   `convertDesiredReplicasWithBehaviorRate`,
//!   `calculateScaleUpLimitWithScalingRules` and
//!   `calculateScaleDownLimitWithBehaviors`; the scale events of
//!   `storeScaleEvent`, `markScaleEventsOutdated` and
//!   `getReplicasChangePerPeriod`;
//! - `replica_calculator.go`: `GetExternalPerPodMetricReplicas`
//!   (`AverageValue`), `GetExternalMetricReplicas` (`Value`) and
//!   `Tolerances.isWithin`;
//! - `pkg/apis/autoscaling/v2/defaults.go`: what the API server fills into a
//!   `behavior` that sets only part of itself;
//! - `rate_limiters.go` and `processNextWorkItem`: the work queue brings each
//!   HPA back 15 s after it was last queued
//!   (`--horizontal-pod-autoscaler-sync-period`), by the end of its last
//!   sync or by the HPA informer's resync, whichever comes first. The model
//!   syncs exactly every 15 s; the real syncs come a little more or, after
//!   an informer resync, a little less than 15 s apart (measured on the test
//!   node, docs/test-node.md), which decides whether a record exactly a
//!   whole number of periods old is inside a window. `Hpa::sync_timed` takes
//!   the controller's own times for that.
//!
//! And KEDA v2.20.2: `controllers/keda/hpa.go` (the HPA gets the
//! ScaledObject's `behavior`, or none), `GetHPAMinReplicas` (at least 1),
//! `pkg/scalers/scaler.go` (the metric and target in thousandths, see
//! [`crate::keda::milli_units`]) and `pkg/scaling/scale_handler.go` (KEDA
//! queries Prometheus for each of the HPA's asks unless the trigger sets
//! `useCachedMetrics`).
//!
//! Where older versions differ: before 1.33 the tolerance test was
//! `math.Abs(1.0-usageRatio) <= tolerance`, which in floating point puts a
//! ratio of exactly 1.1 outside (1.1 − 1.0 is 0.10000000000000009); 1.33's
//! `isWithin` compares `usageRatio <= 1.0+tolerance` and holds it. 1.35 turns
//! the `HPAConfigurableTolerance` gate (beta) on by default, so a `behavior`
//! may set its own `tolerance`; the model refuses that field rather than
//! guess. KEDA up to 2.19 truncated `value × 1000` where 2.20 rounds.
//!
//! Time: the model's syncs are exactly one sync period apart. In a cluster
//! the work queue re-adds an HPA 15 s after its reconcile ends, so syncs are
//! 15 s plus the reconcile's own milliseconds apart, and a record made n
//! syncs ago is always a little more than n × 15 s old. The model therefore
//! counts a record exactly one window old as outside the window, whichever
//! way the code compares (`After(cutoff)` or `Before(cutoff)`): see
//! [`within`].

use crate::keda::ScalingRule;

mod behavior;
mod rules;
pub use behavior::{Behavior, Policy, PolicyType, Rules, SelectPolicy};
pub use rules::*;

/// One sync of the modelled HPA.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sync {
    /// Seconds since the model started.
    pub at: f64,
    /// The value KEDA answered the HPA's ask with; `None` when there was none
    /// yet (the sync fails to get the metric and changes nothing).
    pub value: Option<f64>,
    /// The HPA's count from the metric, after the tolerance and before
    /// stabilization; `None` when the sync did not compute one (no metric,
    /// 0 replicas, or replicas outside [min, max]).
    pub recommendation: Option<u32>,
    /// The replicas before and after this sync.
    pub replicas_before: u32,
    pub replicas: u32,
}

/// The HPA's state between syncs, as the controller keeps it per HPA: the
/// replicas, its past recommendations (for the stabilization windows) and
/// its past scale events per direction (for the policies' periods), and the
/// value KEDA read last.
#[derive(Clone, Debug)]
pub struct Hpa {
    rule: ScalingRule,
    /// `None`: the HPA has no `behavior` (the ScaledObject sets none).
    behavior: Option<Behavior>,
    sync_period_seconds: f64,
    replicas: u32,
    next_sync: f64,
    last_value: Option<f64>,
    recommendations: Vec<Recommendation>,
    scale_up_events: Vec<ScaleEvent>,
    scale_down_events: Vec<ScaleEvent>,
}

impl Hpa {
    /// An HPA with `replicas` running, syncing first at time 0 and then every
    /// `sync_period_seconds`.
    pub fn new(rule: ScalingRule, behavior: Option<Behavior>, replicas: u32, sync_period_seconds: f64) -> Hpa {
        Hpa {
            rule,
            behavior,
            sync_period_seconds,
            replicas,
            next_sync: 0.0,
            last_value: None,
            recommendations: Vec::new(),
            scale_up_events: Vec::new(),
            scale_down_events: Vec::new(),
        }
    }

    pub fn replicas(&self) -> u32 {
        self.replicas
    }

    pub fn behavior(&self) -> Option<&Behavior> {
        self.behavior.as_ref()
    }

    /// When the next sync is due.
    pub fn next_sync(&self) -> f64 {
        self.next_sync
    }

    /// KEDA read `value` at `at` (a `pollingInterval` poll, or its query for
    /// one of the HPA's asks): the syncs due before `at` run with the value
    /// read before, a sync due at `at` with this one.
    pub fn read(&mut self, at: f64, value: f64) -> Vec<Sync> {
        let mut syncs = self.run_syncs(|due| due < at);
        self.last_value = Some(value);
        syncs.extend(self.run_syncs(|due| due <= at));
        syncs
    }

    /// KEDA's read at `at` failed (Prometheus unreachable, a bad result): the
    /// syncs due before `at` run with the value read before; from `at` on
    /// there is no value, so a sync fails to get the metric and keeps the
    /// replicas until a read succeeds (KEDA's cache, too, keeps the error).
    pub fn read_failed(&mut self, at: f64) -> Vec<Sync> {
        let mut syncs = self.run_syncs(|due| due < at);
        self.last_value = None;
        syncs.extend(self.run_syncs(|due| due <= at));
        syncs
    }

    /// The syncs due up to `at`, each with the value KEDA read last: the
    /// HPA's own period, whatever KEDA's `pollingInterval`.
    pub fn advance(&mut self, at: f64) -> Vec<Sync> {
        self.run_syncs(|due| due <= at)
    }

    fn run_syncs(&mut self, due: impl Fn(f64) -> bool) -> Vec<Sync> {
        let mut syncs = Vec::new();
        while due(self.next_sync) {
            let at = self.next_sync;
            syncs.push(self.reconcile(at, at, self.last_value));
            self.next_sync += self.sync_period_seconds;
        }
        syncs
    }

    /// One sync at `at` with the metric `value`, outside the schedule (the
    /// preview's `--once`, and the tests).
    pub fn sync(&mut self, at: f64, value: f64) -> Sync {
        self.reconcile(at, at, Some(value))
    }

    /// One sync as the controller's clock saw it: its recommendation stamped
    /// `at`, and the scale event, if it scales, stamped `scaled_at`, after the
    /// scale subresource's update (`storeScaleEvent` follows it). A sync
    /// comes 15 s after the HPA was last queued, by its own requeue or by
    /// the informer's resync, so two syncs can be a little less than a
    /// period apart, and a scale event is a few milliseconds younger than its
    /// sync's recommendation: at a window's edge those milliseconds decide
    /// (cluster/tests/loop/ feeds this the controller's logged times).
    pub fn sync_timed(&mut self, at: f64, scaled_at: f64, value: f64) -> Sync {
        self.reconcile(at, scaled_at, Some(value))
    }

    /// `reconcileAutoscaler`.
    fn reconcile(&mut self, at: f64, scaled_at: f64, value: Option<f64>) -> Sync {
        let current = self.replicas;
        // `recordInitialRecommendation`: on the HPA's first sync the controller
        // records the current replicas as a recommendation, before anything
        // else. It sits in both stabilization windows: a scale-down waits until
        // it has left the scale-down window, a scale-up (with a window) until
        // it has left the scale-up window.
        if self.recommendations.is_empty() {
            self.recommendations.push(Recommendation { replicas: current, at });
        }
        // KEDA's `GetHPAMinReplicas`: a minReplicaCount of 0 gives the HPA 1.
        let min = self.rule.min_replicas.max(1);
        let max = self.rule.max_replicas;
        let mut recommendation = None;
        let replicas = if current == 0 {
            // "scaling is disabled since the replica count of the target is
            // zero": KEDA alone activates from there.
            current
        } else if current > max {
            max
        } else if current < min {
            min
        } else if let Some(value) = value {
            let metric = metric_recommendation(self.rule.metric_type, value, self.rule.threshold, current);
            recommendation = Some(metric);
            match &self.behavior {
                None => {
                    let stabilized = stabilize_without_behavior(
                        &mut self.recommendations,
                        at,
                        metric,
                        DOWNSCALE_STABILIZATION_SECONDS,
                    );
                    convert_without_behavior(current, stabilized, min, max)
                }
                Some(behavior) => {
                    let stabilized = stabilize_with_behavior(
                        &mut self.recommendations,
                        at,
                        current,
                        metric,
                        behavior.scale_up.stabilization_window_seconds,
                        behavior.scale_down.stabilization_window_seconds,
                    );
                    self.convert_with_behavior_rate(at, current, stabilized, min, max)
                }
            }
        } else {
            // No metric: the sync fails (`FailedGetExternalMetric`) and nothing changes.
            current
        };
        if replicas != current {
            self.store_scale_event(scaled_at, current, replicas);
        }
        self.replicas = replicas;
        Sync { at, value, recommendation, replicas_before: current, replicas }
    }

    /// `convertDesiredReplicasWithBehaviorRate`: the stabilized count within
    /// the direction's policy limit (never past the current replicas the
    /// wrong way) and [min, max].
    fn convert_with_behavior_rate(&self, at: f64, current: u32, desired: u32, min: u32, max: u32) -> u32 {
        let behavior = self.behavior.as_ref().expect("only on the behavior path");
        let (up, down) = (&self.scale_up_events, &self.scale_down_events);
        if desired > current {
            let limit = scale_up_limit(current, up, down, &behavior.scale_up, at).max(i64::from(current));
            let highest = i64::from(max).min(limit);
            if i64::from(desired) > highest { clamp_u32(highest) } else { desired }
        } else if desired < current {
            let limit = scale_down_limit(current, up, down, &behavior.scale_down, at).min(i64::from(current));
            let lowest = i64::from(min).max(limit);
            if i64::from(desired) < lowest { clamp_u32(lowest) } else { desired }
        } else {
            desired
        }
    }

    /// `storeScaleEvent`: only with `behavior` (without it nothing reads
    /// them), in the direction of the change.
    fn store_scale_event(&mut self, at: f64, before: u32, after: u32) {
        let Some(behavior) = &self.behavior else {
            return;
        };
        if after > before {
            store_scale_event(&mut self.scale_up_events, at, after - before, longest_policy_period(&behavior.scale_up));
        } else {
            let longest = longest_policy_period(&behavior.scale_down);
            store_scale_event(&mut self.scale_down_events, at, before - after, longest);
        }
    }
}

fn clamp_u32(value: i64) -> u32 {
    value.clamp(0, i64::from(u32::MAX)) as u32
}

/// The syncs of an HPA starting from `replicas`, syncing every
/// `sync_period_seconds`, when KEDA reads the values of `history` (seconds
/// since the start, value) at those times: a pure function of its arguments.
pub fn replay(
    rule: &ScalingRule,
    behavior: Option<&Behavior>,
    replicas: u32,
    sync_period_seconds: f64,
    history: &[(f64, f64)],
) -> Vec<Sync> {
    let mut hpa = Hpa::new(rule.clone(), behavior.cloned(), replicas, sync_period_seconds);
    history.iter().flat_map(|&(at, value)| hpa.read(at, value)).collect()
}

#[cfg(test)]
mod tests;
