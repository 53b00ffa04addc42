//! The per-replica section of BENCHMARKS.md: the figures of each form side
//! by side with their ratios to the container, and the targets of the
//! issue that set them.

use std::collections::HashMap;
use std::fmt::Write;
use std::process::Command;
use std::time::Duration;

use harness::benchmarks::{Machine, mib};

use super::measure::{Memory, Throughput};
use super::{Form, Settings};

/// Everything one run measured.
pub struct Figures {
    header: String,
    replicas: usize,
    pub cpu_limit: String,
    pub pulled: HashMap<Form, u64>,
    pub unpacked: HashMap<Form, u64>,
    pub precompiled: HashMap<Form, u64>,
    pub cold: HashMap<Form, Vec<Duration>>,
    pub warm: HashMap<Form, Vec<Duration>>,
    pub one_cold: HashMap<Form, Memory>,
    pub one: HashMap<Form, Memory>,
    pub many: HashMap<Form, Memory>,
    pub processes: HashMap<Form, String>,
    pub limited: HashMap<Form, Throughput>,
    pub unlimited: HashMap<Form, Throughput>,
}

/// The first line a command prints (on either stream), or what is missing.
fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program).args(args).output().map_or_else(
        |_| format!("{program}: not found"),
        |output| {
            let text = [output.stdout, output.stderr].concat();
            String::from_utf8_lossy(&text).lines().next().unwrap_or_default().to_owned()
        },
    )
}

fn word(line: &str, index: usize) -> String {
    line.split_whitespace().nth(index).unwrap_or("?").to_owned()
}

impl Figures {
    pub fn new(settings: &Settings, containerd_version: &str, flask_versions: &str) -> Figures {
        let Machine { cpu, cores, date } = Machine::read();
        // The first two words of the model name ("AMD EPYC"), as this section gives it.
        let model = cpu.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        let mut header = format!(
            "Measured {date} on {model} ({cores} cores),\n\
             containerd {containerd_version} (runc shim: Debian's containerd-shim-runc-v2 {}, runc {}),\n\
             containerd-shim-spin v{}, wrk {}; the container's Debian bookworm packages: {}.\n",
            word(&first_line("containerd", &["--version"]), 2),
            word(&first_line("runc", &["--version"]), 2),
            harness::binaries::CONTAINERD_SHIM_SPIN_VERSION,
            word(&first_line("wrk", &["-v"]), 1),
            flask_versions.lines().collect::<Vec<_>>().join(", "),
        );
        if !settings.wasm_env.is_empty() {
            let _ = writeln!(header, "The wasm tasks' environment adds, beyond the Deployment's: {}.", settings.wasm_env.join(" "));
        }
        let _ = writeln!(
            header,
            "Starts: median of {} (range); memory after {} requests to `/`; throughput: wrk, {} connections, {} s on `/`.",
            settings.runs, settings.requests, settings.connections, settings.seconds
        );
        Figures {
            header,
            replicas: settings.replicas,
            cpu_limit: String::new(),
            pulled: HashMap::new(),
            unpacked: HashMap::new(),
            precompiled: HashMap::new(),
            cold: HashMap::new(),
            warm: HashMap::new(),
            one_cold: HashMap::new(),
            one: HashMap::new(),
            many: HashMap::new(),
            processes: HashMap::new(),
            limited: HashMap::new(),
            unlimited: HashMap::new(),
        }
    }

    pub fn markdown(&self) -> String {
        let mut out = self.header.clone();
        let labels: Vec<&str> = Form::ALL.iter().map(|form| form.label()).collect();
        let _ = writeln!(out, "\n| figure | {} | artifact ÷ container | plain ÷ container |", labels.join(" | "));
        out += "| --- | ---: | ---: | ---: | ---: | ---: |\n";
        // A row of the three forms' figures and two ratios to the container.
        let mut row = |name: &str, shown: &dyn Fn(Form) -> String, value: Option<&dyn Fn(Form) -> f64>| {
            let ratios = value.map_or([String::new(), String::new()], |value| {
                [ratio(value(Form::Artifact), value(Form::Container)), ratio(value(Form::Plain), value(Form::Container))]
            });
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | {} | {} |",
                shown(Form::Artifact),
                shown(Form::Plain),
                shown(Form::Container),
                ratios[0],
                ratios[1]
            );
        };
        let starts = |times: &HashMap<Form, Vec<Duration>>, form: Form| {
            let (median, low, high) = spread(&times[&form]);
            format!("{} ms ({low}–{high})", number(median))
        };
        let median_of = |times: &HashMap<Form, Vec<Duration>>, form: Form| spread(&times[&form]).0;
        row("start to first 200, cold (image just pulled)", &|form| starts(&self.cold, form), Some(&|form| median_of(&self.cold, form)));
        row("start to first 200, warm (second container)", &|form| starts(&self.warm, form), Some(&|form| median_of(&self.warm, form)));
        let one = |form: Form| self.one[&form];
        row(
            "memory, one replica (the second after the pull): RSS of the task's processes + its shim's",
            &|form| mib(one(form).rss() * 1024),
            Some(&|form| one(form).rss() as f64),
        );
        row(
            "memory, one replica (the second after the pull): PSS of the task's processes + its shim's",
            &|form| mib(one(form).pss() * 1024),
            Some(&|form| one(form).pss() as f64),
        );
        row(
            "memory, the first replica after the pull: PSS of the task's processes + its shim's",
            &|form| mib(self.one_cold[&form].pss() * 1024),
            Some(&|form| self.one_cold[&form].pss() as f64),
        );
        row("of which the shim's processes (PSS), second replica", &|form| mib(one(form).shim_pss * 1024), None);
        row(
            "memory, one replica: the task's memory cgroup (usage_in_bytes / memory.current)",
            &|form| mib(one(form).cgroup),
            Some(&|form| one(form).cgroup as f64),
        );
        let replicas = self.replicas as u64;
        row(
            &format!("memory, {replicas} replicas at once: PSS of tasks + shims, per replica"),
            &|form| mib(self.many[&form].pss() / replicas * 1024),
            Some(&|form| self.many[&form].pss() as f64),
        );
        row(
            &format!("memory, {replicas} replicas at once: their memory cgroups, in all"),
            &|form| mib(self.many[&form].cgroup),
            Some(&|form| self.many[&form].cgroup as f64),
        );
        row("image as pulled (config + compressed layers)", &|form| bytes(self.pulled[&form]), Some(&|form| self.pulled[&form] as f64));
        row("image unpacked (snapshot)", &|form| bytes(self.unpacked[&form]), Some(&|form| self.unpacked[&form] as f64));
        row("added to containerd's content store by the first start", &|form| bytes(self.precompiled[&form]), None);
        let load = |figures: &HashMap<Form, Throughput>, form: Form| {
            let load = figures[&form];
            format!("{:.0} ({:.2}ms)", load.requests_per_second.trunc(), load.p99.as_secs_f64() * 1e3)
        };
        row(
            &format!("req/s at the CPU limit ({}), p99", self.cpu_limit),
            &|form| load(&self.limited, form),
            Some(&|form| self.limited[&form].requests_per_second.trunc()),
        );
        let micros = |duration: Duration| duration.as_secs_f64() * 1e6;
        row(
            "CPU per request at the limit: the task's processes + the shim's (µs)",
            &|form| {
                let load = self.limited[&form];
                format!("{:.0} + {:.0}", micros(load.task_cpu_per_request), micros(load.shim_cpu_per_request))
            },
            Some(&|form| {
                let load = self.limited[&form];
                micros(load.task_cpu_per_request).round() + micros(load.shim_cpu_per_request).round()
            }),
        );
        row(
            "req/s without a CPU limit, p99",
            &|form| load(&self.unlimited, form),
            Some(&|form| self.unlimited[&form].requests_per_second.trunc()),
        );
        out += "\nThe processes of one replica (those in the task's memory cgroup; the shim's: every other process started with the task's id and this containerd's socket):\n";
        for form in Form::ALL {
            let _ = writeln!(out, "- {}: {}", form.label(), self.processes[&form]);
        }
        out += &self.targets();
        out
    }

    fn targets(&self) -> String {
        let warm = |form: Form| spread(&self.warm[&form]).0 / spread(&self.warm[&Form::Container]).0;
        let pss = |form: Form| self.one[&form].pss() as f64 / self.one[&Form::Container].pss() as f64;
        let limited =
            |form: Form| self.limited[&form].requests_per_second.trunc() / self.limited[&Form::Container].requests_per_second.trunc();
        let mut out = String::new();
        out += "\n### Targets (wasm ÷ container, the Spin OCI artifact, from this run)\n\n";
        out += TARGETS_HEADER;
        out += &target("start, warm", warm(Form::Artifact), Bar::AtMost(0.5, "≤ 1/2"), Bar::AtMost(0.1, "≤ 1/10"));
        out += &target("memory, one replica (PSS, task + shim)", pss(Form::Artifact), Bar::AtMost(1.0, "≤ 1"), Bar::AtMost(0.5, "≤ 1/2"));
        let pulled = self.pulled[&Form::Artifact] as f64 / self.pulled[&Form::Container] as f64;
        out += &target("image as pulled", pulled, Bar::AtMost(0.01, "≤ 1/100"), Bar::AtMost(0.001, "≤ 1/1000"));
        out += &target("req/s at the same CPU limit", limited(Form::Artifact), Bar::AtLeast(3.0, "≥ 3"), Bar::AtLeast(10.0, "≥ 10"));
        out += "\n### Targets (the pod we ship, the restricted plain image, ÷ the restricted container, from this run)\n\n";
        out += TARGETS_HEADER;
        out += &target("start, warm", warm(Form::Plain), Bar::AtMost(0.5, "≤ 1/2"), Bar::AtMost(0.2, "≤ 1/5"));
        out += &target("memory, one replica (PSS, task + shim)", pss(Form::Plain), Bar::AtMost(1.0, "≤ 1"), Bar::AtMost(1.0, "≤ 1"));
        let many = self.many[&Form::Plain].pss() as f64 / self.many[&Form::Container].pss() as f64;
        let name = format!("memory, {} replicas at once (PSS, tasks + shims)", self.replicas);
        out += &target(&name, many, Bar::AtMost(0.667, "≤ 2/3"), Bar::AtMost(0.667, "≤ 2/3"));
        out += &target("req/s at the same CPU limit", limited(Form::Plain), Bar::AtLeast(2.0, "≥ 2"), Bar::AtLeast(3.0, "≥ 3"));
        out
    }
}

const TARGETS_HEADER: &str = "| figure | ratio | bar | goal | met |\n| --- | ---: | ---: | ---: | --- |\n";

#[derive(Clone, Copy)]
enum Bar {
    AtMost(f64, &'static str),
    AtLeast(f64, &'static str),
}

impl Bar {
    fn met(self, ratio: f64) -> bool {
        match self {
            Bar::AtMost(limit, _) => ratio <= limit,
            Bar::AtLeast(limit, _) => ratio >= limit,
        }
    }

    fn shown(self) -> &'static str {
        match self {
            Bar::AtMost(_, shown) | Bar::AtLeast(_, shown) => shown,
        }
    }
}

/// A row of a targets table: the ratio is judged as printed.
fn target(name: &str, value: f64, bar: Bar, goal: Bar) -> String {
    let shown = ratio(value, 1.0);
    let printed: f64 = shown.parse().unwrap_or(value);
    let met = if goal.met(printed) {
        if goal.shown() == bar.shown() { "yes" } else { "goal" }
    } else if bar.met(printed) {
        "bar, not the goal"
    } else {
        "**no**"
    };
    format!("| {name} | {shown} | {} | {} | {met} |\n", bar.shown(), goal.shown())
}

/// Median, least and most of the times, in milliseconds.
fn spread(times: &[Duration]) -> (f64, u128, u128) {
    let millis: Vec<u128> = times.iter().map(Duration::as_millis).collect();
    let median = harness::benchmarks::median(&millis.iter().map(|&value| value as f64).collect::<Vec<_>>());
    (median, millis.iter().copied().min().unwrap_or(0), millis.iter().copied().max().unwrap_or(0))
}

/// 270.5 or 217: a half where there is one, as the medians of an even count have.
fn number(value: f64) -> String {
    if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value:.1}") }
}

fn ratio(value: f64, of: f64) -> String {
    let ratio = value / of;
    if ratio >= 10.0 {
        format!("{ratio:.1}")
    } else if ratio >= 0.01 {
        format!("{ratio:.2}")
    } else {
        format!("{ratio:.5}")
    }
}

fn bytes(bytes: u64) -> String {
    if bytes >= 1_048_576 { format!("{:.1} MB ({bytes} B)", bytes as f64 / 1e6) } else { format!("{bytes} B") }
}
