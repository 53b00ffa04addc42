//! What only a cluster shows, on the one-node cluster of docs/test-node.md:
//! the manifests applied as a user applies them, the API server's Pod
//! Security admission, the kubelet running the pod through the RuntimeClass
//! and the shim with the securityContext it applied, its probes, Service
//! networking and cluster DNS, three replicas counting apart, a drain held
//! by the PodDisruptionBudget, deletion within the grace period, and the
//! container path with its image pulled through a registry mirror.
//!
//! One node for all the checks, which run in order, each on the state the
//! one before left; the node is taken down at the end, and anything left
//! on the machine fails the run. Needs root, `CONTAINERD_1_7`,
//! `CONTAINERD_SHIM_SPIN` and `SEED_APP` (scripts/node-tests.sh sets them).
//!   scripts/node-tests.sh [FILTER]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use cluster::apps::{
    self, APP_IMAGE, FLASK_IMAGE, NAMESPACE, NODE_PORT, Path, SELECTOR, SERVICE_PORT, count, ready_pods, rollout, service_ip,
};
use cluster::layout::{DNS_SERVICE_IP, NODE_IP, NODE_NAME};
use cluster::suite::{self, Check};
use cluster::{Node, Runtimes};
use cluster::{daemons, network, node, pod_leftovers};
use harness::confinement::{SecurityContext, check_process};
use harness::http::{client, get};
use serde_json::Value;

fn main() -> ExitCode {
    suite::run(&CHECKS, start, |node| node)
}

/// The checks, in the order they run.
const CHECKS: [(&str, Check<Node>); 10] = [
    ("wasm_path_applies_as_a_user_applies_it", wasm_path_applies_as_a_user_applies_it),
    ("pod_security_admission_admits_the_pod_and_rejects_an_escalating_one", pod_security_admission),
    ("the_kubelet_runs_spin_through_the_runtime_class_with_the_security_context", spin_through_the_runtime_class),
    ("the_pod_is_ready_by_the_kubelets_own_probes", ready_by_the_kubelets_probes),
    ("requests_through_cluster_ip_node_port_and_dns_count_exactly", service_counts_exactly),
    ("three_replicas_each_count_from_zero_and_add_up", three_replicas_add_up),
    ("a_drain_leaves_the_one_pod_the_disruption_budget_holds", drain_is_held_by_the_budget),
    ("deleted_pods_end_within_their_grace_period", deletion_within_grace_period),
    ("container_path_pulls_the_flask_image_through_the_mirror_and_counts", container_path),
    ("a_node_whose_run_was_killed_is_taken_down_by_the_next_run", a_killed_node_is_taken_down),
];

/// The node, with both images delivered and the CRDs the manifests need
/// (the operators themselves are the KEDA suite's).
fn start() -> Result<Node> {
    let seed_app = apps::seed_app_from_env()?;
    let node = Node::up(Runtimes::from_env()?)?;
    apps::deliver_images(&node, &seed_app)?;
    apps::install_crds(&node)?;
    Ok(node)
}

fn wasm_path_applies_as_a_user_applies_it(node: &Node) -> Result<()> {
    let kubectl = &node.kubectl;
    apps::install_runtime_class(node)?;
    let started = Instant::now();
    kubectl.run(&["apply", "-k", &Path::Wasm.kustomization()])?;
    rollout(node)?;
    println!("wasm pod Ready {:.1} s after apply", started.elapsed().as_secs_f64());
    let pod = &ready_pods(node)?[0];
    ensure!(pod.spec["runtimeClassName"] == "wasmtime-spin-v2", "the pod's runtimeClassName is {}", pod.spec["runtimeClassName"]);
    let image = &pod.status["containerStatuses"][0]["image"];
    ensure!(image.as_str().is_some_and(|image| image.ends_with(APP_IMAGE)), "the pod runs {image}, not {APP_IMAGE}");
    Ok(())
}

fn pod_security_admission(node: &Node) -> Result<()> {
    let namespace = node.kubectl.get_json(&["namespace", NAMESPACE])?;
    let enforce = &namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"];
    ensure!(enforce == "restricted", "namespace {NAMESPACE} enforces {enforce}, not restricted");
    // The Deployment's own pod passed admission: it runs (the check before).
    ensure!(!ready_pods(node)?.is_empty(), "no pod of the Deployment was admitted");

    // The same pod with one restricted rule broken, asked of the API server
    // (server-side dry run: admission runs, nothing is stored).
    let deployment = node.kubectl.get_json(&["-n", NAMESPACE, "deployment", "test"])?;
    let mut spec = deployment["spec"]["template"]["spec"].clone();
    spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = Value::Bool(true);
    let pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "escalating", "namespace": NAMESPACE},
        "spec": spec,
    });
    let (created, answer) = node.kubectl.try_run_with_input(&["create", "--dry-run=server", "-f", "-"], &pod.to_string());
    ensure!(!created, "the API server admitted a pod with allowPrivilegeEscalation: true: {answer}");
    let expected = [r#"violates PodSecurity "restricted:v1.35""#, "allowPrivilegeEscalation != false"];
    ensure!(expected.iter().all(|part| answer.contains(part)), "refused, but not by Pod Security admission: {answer}");
    println!("refused as expected: {}", answer.trim());
    Ok(())
}

fn spin_through_the_runtime_class(node: &Node) -> Result<()> {
    let pod = &ready_pods(node)?[0];
    let sandboxes: Value = serde_json::from_str(&node.crictl(&["pods", "--name", &pod.name, "--state", "ready", "-o", "json"])?)?;
    let sandbox = &sandboxes["items"][0];
    ensure!(sandbox["runtimeHandler"] == "spin", "the CRI runs pod {} with handler {}, not spin", pod.name, sandbox["runtimeHandler"]);
    let init = container_pid(node, sandbox["id"].as_str().context("sandbox without id")?)?;

    // The process is Spin's, under containerd-shim-spin: not runc's.
    let parent = parent_of(init)?;
    let shim = std::fs::read_link(format!("/proc/{parent}/exe"))?;
    ensure!(
        shim.file_name().is_some_and(|name| name == "containerd-shim-spin-v2"),
        "the container's process {init} runs under {}, not containerd-shim-spin-v2",
        shim.display()
    );
    // Held to the securityContext the kubelet applied: read from the pod as
    // the API server stored it, checked in the kernel's view of the process.
    let security = SecurityContext::read(&pod.spec, &pod.spec["containers"][0]);
    ensure!(security.run_as == Some((65532, 65532)), "the pod does not run as 65532: {security:?}");
    check_process(init, &security, true).map_err(anyhow::Error::msg)?;
    println!("Spin (pid {init}) under the shim (pid {parent}): uid 65532, CapEff NET_BIND_SERVICE only, NoNewPrivs, seccomp filter");
    Ok(())
}

fn ready_by_the_kubelets_probes(node: &Node) -> Result<()> {
    let pod = &ready_pods(node)?[0];
    let probe = &pod.spec["containers"][0]["readinessProbe"]["httpGet"];
    ensure!(!probe.is_null(), "the container has no HTTP readiness probe");
    // The kubelet's own count of the probes it ran (its /metrics/probes,
    // through the API server's node proxy).
    let metrics = node.kubectl.run(&["get", "--raw", &format!("/api/v1/nodes/{NODE_NAME}/proxy/metrics/probes")])?;
    let successes: f64 = metrics
        .lines()
        .filter(|line| {
            line.starts_with("prober_probe_total{")
                && line.contains(r#"probe_type="Readiness""#)
                && line.contains(r#"result="successful""#)
                && line.contains(&format!(r#"pod="{}""#, pod.name))
        })
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum();
    ensure!(successes >= 1.0, "the kubelet reports no successful readiness probe of {}", pod.name);
    println!("the kubelet ran {successes} successful readiness probes of {} ({} {})", pod.name, probe["path"], probe["port"]);
    Ok(())
}

fn service_counts_exactly(node: &Node) -> Result<()> {
    let cluster_ip = service_ip(node)?;
    let name = format!("test.{NAMESPACE}.svc.cluster.local");
    let resolved = cluster::dns::resolve_a(DNS_SERVICE_IP, &name)?;
    ensure!(resolved == [cluster_ip], "{name} resolves to {resolved:?} through the cluster DNS, not the ClusterIP {cluster_ip}");

    let pods = ready_pods(node)?;
    apps::wait_for_service_rules(&format!("{NAMESPACE}/test:http"), pods.iter().map(|pod| pod.ip.as_str()))?;
    let pod = &pods[0];
    let before = count(Path::Wasm, &pod.ip)?;
    let agent = client();
    for url in [format!("http://{cluster_ip}:{SERVICE_PORT}/"), format!("http://{NODE_IP}:{NODE_PORT}/")] {
        for _ in 0..50 {
            let answer = get(&agent, &url, None);
            ensure!(answer.status == 200 && answer.body == "Hello World!", "GET {url}: {} {:?}", answer.status, answer.body);
        }
    }
    let after = count(Path::Wasm, &pod.ip)?;
    ensure!(after - before == 100.0, "100 requests through the Service, the pod counted {}", after - before);
    println!("{name} -> {cluster_ip}; 50 through the ClusterIP and 50 through NodePort {NODE_PORT}, counted 100");
    Ok(())
}

fn three_replicas_add_up(node: &Node) -> Result<()> {
    let first = ready_pods(node)?;
    ensure!(first.len() == 1, "{} pods before scaling, not 1", first.len());
    let started = Instant::now();
    node.kubectl.run(&["-n", NAMESPACE, "scale", "deployment/test", "--replicas=3"])?;
    rollout(node)?;
    println!("1 -> 3 replicas Ready in {:.1} s", started.elapsed().as_secs_f64());
    let pods = ready_pods(node)?;
    ensure!(pods.len() == 3, "{} Ready pods after scaling to 3", pods.len());
    apps::wait_for_service_rules(&format!("{NAMESPACE}/test:http"), pods.iter().map(|pod| pod.ip.as_str()))?;
    let mut before = Vec::new();
    for pod in &pods {
        let counted = count(Path::Wasm, &pod.ip)?;
        ensure!(pod.name == first[0].name || counted == 0.0, "new pod {} starts at {counted}, not 0", pod.name);
        before.push(counted);
    }
    // A new connection per request, so that kube-proxy picks a pod for each.
    let url = format!("http://{}:{SERVICE_PORT}/", service_ip(node)?);
    let sent = 90;
    for _ in 0..sent {
        let answer = get(&client(), &url, None);
        ensure!(answer.status == 200, "GET {url}: {}", answer.status);
    }
    let mut counted = Vec::new();
    for (pod, before) in pods.iter().zip(&before) {
        counted.push(count(Path::Wasm, &pod.ip)? - before);
    }
    ensure!(counted.iter().sum::<f64>() == sent as f64, "{sent} requests, the pods counted {counted:?}");
    // Each pod has a third of the chance: that one gets none is 1 in 10^15.
    ensure!(counted.iter().all(|&each| each > 0.0), "the Service did not spread the requests: {counted:?}");
    println!("{sent} requests over three pods: {counted:?}");
    Ok(())
}

fn drain_is_held_by_the_budget(node: &Node) -> Result<()> {
    ensure!(ready_pods(node)?.len() == 3, "the drain starts from three Ready pods");
    let url = format!("http://{}:{SERVICE_PORT}/", service_ip(node)?);
    let started = Instant::now();
    // The drain evicts what the budget allows (minAvailable 1 of 3), then
    // retries the last pod until its timeout: one node has nowhere to put
    // the replacements, so the budget holds that pod for good.
    let (drained, output) = node.kubectl.try_run(&["drain", NODE_NAME, "--pod-selector", SELECTOR, "--ignore-daemonsets", "--timeout=30s"]);
    let result = (|| {
        ensure!(!drained, "the drain evicted every pod of test: {output}");
        ensure!(output.contains("disruption budget"), "the drain stopped, but not on the disruption budget: {output}");
        let pods = ready_pods(node)?;
        ensure!(pods.len() == 1, "{} Ready pods after the drain, not the 1 the budget holds", pods.len());
        let answer = get(&client(), &url, None);
        ensure!(answer.status == 200, "the Service does not answer after the drain: {}", answer.status);
        println!("drain refused after {:.1} s with one Ready pod serving", started.elapsed().as_secs_f64());
        Ok(())
    })();
    node.kubectl.run(&["uncordon", NODE_NAME])?;
    result?;
    rollout(node)
}

fn deletion_within_grace_period(node: &Node) -> Result<()> {
    let pods = ready_pods(node)?;
    ensure!(!pods.is_empty(), "no pod to delete");
    let grace = pods[0].spec["terminationGracePeriodSeconds"].as_u64().context("no grace period")?;
    let mut processes = Vec::new();
    for pod in &pods {
        let sandboxes: Value = serde_json::from_str(&node.crictl(&["pods", "--name", &pod.name, "-o", "json"])?)?;
        processes.push(container_pid(node, sandboxes["items"][0]["id"].as_str().context("sandbox without id")?)?);
    }
    let started = Instant::now();
    node.kubectl.run(&["-n", NAMESPACE, "delete", "deployment", "test", "--wait=false"])?;
    loop {
        let remaining = node.kubectl.get_json(&["-n", NAMESPACE, "pods", "-l", SELECTOR])?["items"].as_array().map_or(0, Vec::len);
        let running = processes.iter().filter(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists()).count();
        if remaining == 0 && running == 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(grace) {
            bail!(
                "{remaining} pods and {running} Spin processes remain {grace} s after the delete\n{}",
                node.describe(NAMESPACE, SELECTOR)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!(
        "{} pods and their Spin processes gone {:.1} s after the delete (grace period {grace} s)",
        pods.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn container_path(node: &Node) -> Result<()> {
    let started = Instant::now();
    node.kubectl.run(&["apply", "-k", &Path::Container.kustomization()])?;
    rollout(node)?;
    println!("Flask pod Ready {:.1} s after apply (image pulled through the mirror)", started.elapsed().as_secs_f64());
    let pods = ready_pods(node)?;
    ensure!(pods.len() == 1, "{} Ready pods on the container path, not 1", pods.len());
    let pod = &pods[0];
    ensure!(pod.spec["runtimeClassName"].is_null(), "the Flask pod has a runtime class");
    let sandboxes: Value = serde_json::from_str(&node.crictl(&["pods", "--name", &pod.name, "--state", "ready", "-o", "json"])?)?;
    let handler = &sandboxes["items"][0]["runtimeHandler"];
    ensure!(handler.as_str().is_none_or(str::is_empty), "the Flask pod runs with handler {handler}, not the default (runc)");
    // The pull went to the local registry, which only the mirror names.
    let log = std::fs::read_to_string(node.layout.log("registry"))?;
    ensure!(
        log.contains(&format!("/v2/{}/manifests/latest", FLASK_IMAGE.split(':').next().unwrap())),
        "the registry's log shows no pull of {FLASK_IMAGE}"
    );

    apps::wait_for_service_rules(&format!("{NAMESPACE}/test:http"), pods.iter().map(|pod| pod.ip.as_str()))?;
    let url = format!("http://{}:{SERVICE_PORT}/", service_ip(node)?);
    let before = count(Path::Container, &pod.ip)?;
    for _ in 0..20 {
        let answer = get(&client(), &url, None);
        ensure!(answer.status == 200 && answer.body == "Hello World!", "GET {url}: {} {:?}", answer.status, answer.body);
    }
    let counted = count(Path::Container, &pod.ip)? - before;
    ensure!(counted == 20.0, "20 requests to the Flask pod through the Service, counted {counted}");
    println!("20 requests through the Service to the Flask pod, counted 20");
    node.kubectl.run(&["delete", "-k", &Path::Container.kustomization(), "--timeout=120s"])?;
    Ok(())
}

/// What the CI run at 4f0a87c failed on: a run killed with SIGKILL (a
/// session's end) left its node's interfaces, mounts and rules, and the
/// next run, from another clone, stopped at the interfaces. Last, because
/// it ends the node: its daemons and shims are killed as a SIGKILL of the
/// run would, and its pods are left running, as they were then.
fn a_killed_node_is_taken_down(node: &Node) -> Result<()> {
    let refused = node::take_down_a_dead_node().err().map(|error| error.to_string()).unwrap_or_default();
    ensure!(refused.contains("is running (etcd"), "a running node was not refused: {refused:?}");
    for daemon in daemons::recorded(&node.layout) {
        unsafe { libc::kill(-daemon.pid, libc::SIGKILL) };
    }
    for pid in harness::process::processes_naming(&node.layout.run()) {
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
    std::thread::sleep(Duration::from_millis(500));
    ensure!(network::interfaces_exist() && !pod_leftovers::pod_cgroups().is_empty(), "the killed node left no interface or pod");

    node::take_down_a_dead_node()?;
    let left = harness::mounts::mounts_under(&node.layout.run());
    ensure!(!network::interfaces_exist(), "the interfaces are still there");
    ensure!(left.is_empty() && pod_leftovers::pod_cgroups().is_empty(), "left: {left:?} and pods {:?}", pod_leftovers::pod_cgroups());
    ensure!(network::claimant().is_none() && !node.layout.run().exists(), "the claim or the run folder is still there");
    println!("{refused}; killed, then taken down by the next run");
    Ok(())
}

/// The pid of the running container in the pod sandbox `sandbox`.
fn container_pid(node: &Node, sandbox: &str) -> Result<u32> {
    let containers: Value = serde_json::from_str(&node.crictl(&["ps", "--pod", sandbox, "--state", "running", "-o", "json"])?)?;
    let id = containers["containers"][0]["id"].as_str().context("no running container in the pod")?;
    let inspected: Value = serde_json::from_str(&node.crictl(&["inspect", id])?)?;
    inspected["info"]["pid"].as_u64().map(|pid| pid as u32).context("crictl inspect gives no pid")
}

fn parent_of(pid: u32) -> Result<u32> {
    let fields = harness::process::stat_fields(pid).with_context(|| format!("process {pid} is gone"))?;
    fields.get(1).context("no ppid")?.parse().context("ppid")
}
