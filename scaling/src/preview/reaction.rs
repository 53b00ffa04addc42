//! How fast the modelled replicas followed a step of offered load, read
//! from the preview's own points: printed when a preview with `--duration`
//! and `--offered-load` steps ends (scripts/local-demo.sh shows it).

use std::fmt;

use crate::chart::Point;
use crate::keda::ScalingRule;

#[derive(Debug, PartialEq)]
pub struct Reaction {
    /// The replicas the load calls for: KEDA's rule on its rate, from
    /// minReplicaCount (with `metricType: Value`, its first step only).
    pub target: u32,
    pub min_replicas: u32,
    /// Seconds from the step up to the first point at `target` or more.
    pub reached_after: Option<f64>,
    /// Seconds from the step down to 0 to the first point back at `min_replicas`.
    pub back_after: Option<f64>,
    /// Changes of the replicas while the load was on, after reaching `target`.
    pub changes_under_load: usize,
}

/// The reaction to the first step up of `offered_load` and the step back to
/// 0 after it; None when the load has no such pair of steps.
pub fn reaction(rule: &ScalingRule, offered_load: &[(f64, f64)], points: &[Point]) -> Option<Reaction> {
    let &(step, rate) = offered_load.iter().find(|(_, rate)| *rate > 0.0)?;
    let &(stop, _) = offered_load.iter().find(|(at, rate)| *at > step && *rate == 0.0)?;
    let min_replicas = rule.min_replicas.max(1);
    let target = rule.decide(rate, min_replicas).desired_replicas;
    let reached = points.iter().find(|point| point.at >= step && point.replicas >= target).map(|point| point.at);
    let back = points.iter().find(|point| point.at >= stop && point.replicas == min_replicas).map(|point| point.at);
    let under_load: Vec<u32> = points
        .iter()
        .filter(|point| reached.is_some_and(|reached| point.at >= reached) && point.at < stop)
        .map(|point| point.replicas)
        .collect();
    Some(Reaction {
        target,
        min_replicas,
        reached_after: reached.map(|at| at - step),
        back_after: back.map(|at| at - stop),
        changes_under_load: under_load.windows(2).filter(|pair| pair[0] != pair[1]).count(),
    })
}

impl fmt::Display for Reaction {
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        let seconds = |after: Option<f64>| after.map_or("never".to_owned(), |after| format!("{after:.0} s"));
        let replicas = |count: u32| if count == 1 { "1 replica".to_owned() } else { format!("{count} replicas") };
        write!(
            formatter,
            "reaction: {} {} after the step; {} {} after the stop; {} changes under load after reaching it",
            replicas(self.target),
            seconds(self.reached_after),
            replicas(self.min_replicas),
            seconds(self.back_after),
            self.changes_under_load,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> ScalingRule {
        let scaled_object =
            crate::manifests::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/base"), "ScaledObject").unwrap();
        ScalingRule::from_scaled_object(&scaled_object).unwrap()
    }

    fn points(replicas: &[(f64, u32)]) -> Vec<Point> {
        replicas.iter().map(|&(at, replicas)| Point { at, value: None, desired: None, replicas }).collect()
    }

    #[test]
    fn the_step_is_timed_from_the_first_point_at_the_target_and_the_stop_from_the_first_at_min() {
        // The shipped ScaledObject: 10 req/s a replica, 1 to 10.
        let load = [(10.0, 60.0), (100.0, 0.0)];
        let run = points(&[(0.0, 1), (15.0, 1), (30.0, 4), (45.0, 6), (60.0, 6), (75.0, 5), (90.0, 6), (105.0, 6), (180.0, 3), (195.0, 1)]);
        let reaction = reaction(&rule(), &load, &run).unwrap();
        assert_eq!(
            reaction,
            Reaction { target: 6, min_replicas: 1, reached_after: Some(35.0), back_after: Some(95.0), changes_under_load: 2 }
        );
        assert_eq!(
            reaction.to_string(),
            "reaction: 6 replicas 35 s after the step; 1 replica 95 s after the stop; 2 changes under load after reaching it"
        );
    }

    #[test]
    fn a_target_never_reached_says_never_and_a_load_without_a_stop_has_no_reaction() {
        let run = points(&[(0.0, 1), (20.0, 2)]);
        let reaction = reaction(&rule(), &[(10.0, 60.0), (30.0, 0.0)], &run).unwrap();
        assert_eq!((reaction.reached_after, reaction.back_after, reaction.changes_under_load), (None, None, 0));
        assert!(reaction.to_string().contains("6 replicas never after the step"));
        assert_eq!(super::reaction(&rule(), &[(10.0, 60.0)], &run), None);
    }
}
