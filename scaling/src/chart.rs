//! A scaling run as a time series, drawn with plotters' SVG backend: the
//! preview's (`runner preview --chart FILE.svg`), and the loop test's on the
//! test node (cluster/tests/loop/), which adds the Ready pods the cluster
//! ran beside the model's replicas.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use crate::hpa::TOLERANCE;
use crate::keda::ScalingRule;

/// One sync or poll of the modelled HPA.
#[derive(Clone, Copy, Debug)]
pub struct Point {
    /// Seconds since the run started.
    pub at: f64,
    /// None where the query failed.
    pub value: Option<f64>,
    pub desired: Option<u32>,
    /// The modelled HPA's replicas after this poll.
    pub replicas: u32,
}

const WIDTH: u32 = 960;
const HEIGHT: u32 = 640;
const OFFERED: RGBColor = RGBColor(120, 120, 120);
const VALUE: RGBColor = RGBColor(31, 119, 180);
const CAPACITY: RGBColor = RGBColor(44, 160, 44);
const DESIRED: RGBColor = RGBColor(255, 127, 14);
const REPLICAS: RGBColor = RGBColor(214, 39, 40);
const READY: RGBColor = RGBColor(0, 0, 0);
const GRID: RGBColor = RGBColor(245, 245, 245);

/// Write the chart of `points` to `path`, replacing it: through a temporary
/// file, so a reader never sees half a chart. `offered` is the load's
/// (from second, req/s) steps; `ready` the (second, Ready pods) a real
/// cluster ran, empty for the preview.
pub fn write(
    path: &Path,
    rule: &ScalingRule,
    offered: &[(f64, f64)],
    points: &[Point],
    ready: &[(f64, u32)],
) -> Result<()> {
    let mut svg = String::new();
    draw(&mut svg, rule, offered, points, ready).map_err(|error| anyhow!("drawing the chart: {error}"))?;
    let temporary = path.with_extension("svg.partial");
    std::fs::write(&temporary, svg)?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}

/// A line that holds each value until the next point.
fn steps(points: impl IntoIterator<Item = (f64, f64)>, until: f64) -> Vec<(f64, f64)> {
    let mut line: Vec<(f64, f64)> = Vec::new();
    for (at, value) in points {
        if let Some(&(_, previous)) = line.last() {
            line.push((at, previous));
        }
        line.push((at, value));
    }
    if let Some(&(at, value)) = line.last()
        && at < until
    {
        line.push((until, value));
    }
    line
}

fn draw(
    svg: &mut String,
    rule: &ScalingRule,
    offered: &[(f64, f64)],
    points: &[Point],
    ready: &[(f64, u32)],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (upper, lower) = root.split_vertically(HEIGHT * 3 / 5);
    let end = points
        .last()
        .map_or(60.0, |point| point.at)
        .max(offered.last().map_or(0.0, |&(at, _)| at))
        .max(ready.last().map_or(0.0, |&(at, _)| at))
        .max(1.0);
    let capacity = |replicas: u32| rule.threshold * f64::from(replicas);
    let top = points
        .iter()
        .flat_map(|point| [point.value.unwrap_or(0.0), capacity(point.replicas) * (1.0 + TOLERANCE)])
        .chain(offered.iter().map(|&(_, rate)| rate))
        .fold(rule.threshold, f64::max)
        * 1.15;

    let mut rate_chart = ChartBuilder::on(&upper)
        .caption(format!("{}  (threshold {} per replica)", rule.query, rule.threshold), ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..end, 0.0..top)?;
    rate_chart
        .configure_mesh()
        .light_line_style(GRID)
        .x_desc("seconds")
        .y_desc("req/s")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    // The band where the HPA's tolerance holds the replicas still.
    for pair in points.windows(2) {
        let (low, high) = (capacity(pair[0].replicas) * (1.0 - TOLERANCE), capacity(pair[0].replicas) * (1.0 + TOLERANCE));
        rate_chart.draw_series(std::iter::once(Polygon::new(
            vec![(pair[0].at, low), (pair[1].at, low), (pair[1].at, high), (pair[0].at, high)],
            CAPACITY.mix(0.15).filled(),
        )))?;
    }
    rate_chart
        .draw_series(LineSeries::new(
            steps(points.iter().map(|point| (point.at, capacity(point.replicas))), end),
            CAPACITY.stroke_width(2),
        ))?
        .label(format!("threshold × modelled replicas (band: ±{:.0} % tolerance)", TOLERANCE * 100.0))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], CAPACITY.stroke_width(2)));
    if !offered.is_empty() {
        rate_chart
            .draw_series(LineSeries::new(steps(offered.iter().copied(), end), OFFERED.stroke_width(2)))?
            .label("offered load")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], OFFERED.stroke_width(2)));
    }
    // The query's value, broken where a poll failed.
    let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for point in points {
        match point.value {
            Some(value) => segments.last_mut().expect("never empty").push((point.at, value)),
            None => segments.push(Vec::new()),
        }
    }
    for (index, segment) in segments.into_iter().filter(|segment| !segment.is_empty()).enumerate() {
        let series = rate_chart.draw_series(LineSeries::new(segment, VALUE.stroke_width(2)))?;
        if index == 0 {
            series
                .label("query value")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], VALUE.stroke_width(2)));
        }
    }
    rate_chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    let most = points
        .iter()
        .flat_map(|point| [point.replicas, point.desired.unwrap_or(0)])
        .chain(ready.iter().map(|&(_, pods)| pods))
        .fold(rule.min_replicas, u32::max)
        + 1;
    let mut replica_chart = ChartBuilder::on(&lower)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..end, 0.0..f64::from(most))?;
    replica_chart
        .configure_mesh()
        .light_line_style(GRID)
        .x_desc("seconds")
        .y_desc("replicas")
        // One label per whole replica.
        .y_labels(most as usize + 1)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    replica_chart
        .draw_series(LineSeries::new(
            steps(points.iter().filter_map(|point| Some((point.at, f64::from(point.desired?)))), end),
            DESIRED.stroke_width(2),
        ))?
        .label("KEDA desired count: ceil(value / threshold)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], DESIRED.stroke_width(2)));
    replica_chart
        .draw_series(LineSeries::new(
            steps(points.iter().map(|point| (point.at, f64::from(point.replicas))), end),
            REPLICAS.stroke_width(3),
        ))?
        .label("modelled HPA replicas")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], REPLICAS.stroke_width(3)));
    if !ready.is_empty() {
        // Sampled, not stepped: a pod becomes Ready between two samples.
        replica_chart
            .draw_series(LineSeries::new(
                ready.iter().map(|&(at, pods)| (at, f64::from(pods))),
                READY.stroke_width(1),
            ))?
            .label("Ready pods on the cluster")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], READY.stroke_width(1)));
    }
    replica_chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
