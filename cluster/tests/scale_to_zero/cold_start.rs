//! Cold starts from zero, measured and split into what the cluster did
//! while the request waited.

use super::*;

/// The cold start of each path through the same interceptor, COLD_STARTS
/// times each (or `COLD_STARTS` from the environment): the wasm pod, then
/// the Flask container of manifests/container with the same component.
/// Between runs the ScaledObject idles for 10 s, polled every 5 s, instead
/// of the shipped 60 s and 15 s: only how soon it goes back to zero changes,
/// not how it wakes.
pub(crate) fn cold_starts(state: &ScaleToZero) -> Result<()> {
    let runs = std::env::var("COLD_STARTS").ok().and_then(|runs| runs.parse().ok()).unwrap_or(COLD_STARTS);
    ensure!(runs > 0, "COLD_STARTS is 0");
    let node = &state.node;
    shorten_idle(node)?;
    // After the load: its 1 m rate window, then the cooldown.
    wait_for_zero(node, Duration::from_secs(240))?;
    let wasm = measure_cold_starts(state, runs)?;
    node.kubectl.run(&["apply", "-k", &container_with_scale_to_zero(node)?])?;
    rollout(node)?;
    shorten_idle(node)?;
    wait_for_zero(node, Duration::from_secs(240))?;
    let container = measure_cold_starts(state, runs)?;
    for (path, measured) in [("wasm pod", &wasm), ("Flask container", &container)] {
        println!(
            "{path} cold start through the interceptor, {runs} runs: median {:.2} s, worst {:.2} s; Ready at median +{:.2} s",
            median(measured, |cold| cold.answered),
            measured.iter().map(|cold| cold.answered).fold(0.0, f64::max),
            median(measured, |cold| cold.ready),
        );
    }
    println!(
        "the wasm pod's median cold start is {:.0} % of the container's",
        100.0 * median(&wasm, |cold| cold.answered) / median(&container, |cold| cold.answered)
    );
    Ok(())
}

pub(crate) fn measure_cold_starts(state: &ScaleToZero, runs: usize) -> Result<Vec<ColdStart>> {
    let mut measured = Vec::new();
    for run in 0..runs {
        if run > 0 {
            wait_for_zero(&state.node, Duration::from_secs(120))?;
        }
        let cold = cold_start(state)?;
        cold.print();
        measured.push(cold);
    }
    Ok(measured)
}

pub(crate) fn median(measured: &[ColdStart], of: impl Fn(&ColdStart) -> f64) -> f64 {
    harness::benchmarks::median(&measured.iter().map(of).collect::<Vec<_>>())
}

pub(crate) fn shorten_idle(node: &Node) -> Result<()> {
    let patch = r#"{"spec":{"cooldownPeriod":10,"pollingInterval":5}}"#;
    node.kubectl.run(&["-n", NAMESPACE, "patch", "scaledobject", "test", "--type=merge", "-p", patch])?;
    Ok(())
}

/// A kustomization of manifests/container with manifests/scale-to-zero's
/// component, as a user of the container path would write it. Kustomize
/// takes only relative paths: it lives beside a copy of manifests/.
pub(crate) fn container_with_scale_to_zero(node: &Node) -> Result<String> {
    let dir = node.layout.root.join("scale-to-zero");
    let _ = std::fs::remove_dir_all(&dir);
    scaling_loop::copy_tree(std::path::Path::new(&apps::repo_path("manifests")), &dir.join("manifests"))?;
    let kustomization = dir.join("container");
    std::fs::create_dir_all(&kustomization)?;
    std::fs::write(
        kustomization.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../manifests/container\n\
         components:\n  - ../manifests/scale-to-zero/component\n",
    )?;
    Ok(kustomization.to_str().context("path is not UTF-8")?.to_owned())
}

/// What happened while one request sent at zero replicas waited, in seconds
/// from its sending, as the API server's watch reported it.
pub(crate) struct ColdStart {
    /// The pod object exists: KEDA activated, the Deployment and its
    /// ReplicaSet controllers created it.
    pub(crate) created: f64,
    /// The scheduler bound it to the node.
    pub(crate) scheduled: f64,
    /// The kubelet reports its container running.
    pub(crate) running: f64,
    /// The kubelet reports it Ready (its probes passed).
    pub(crate) ready: f64,
    /// The response arrived.
    pub(crate) answered: f64,
}

impl ColdStart {
    pub(crate) fn print(&self) {
        println!(
            "cold start {:.2} s: pod created +{:.2} s (KEDA's activation, the Deployment's controllers), scheduled +{:.2} s, \
             running +{:.2} s, Ready +{:.2} s, answered +{:.2} s",
            self.answered, self.created, self.scheduled, self.running, self.ready, self.answered
        );
    }
}

/// Sends one request at zero replicas through the interceptor and times it
/// against a watch of the app's pods.
pub(crate) fn cold_start(state: &ScaleToZero) -> Result<ColdStart> {
    let node = &state.node;
    ensure!(
        node.kubectl.get_json(&["-n", NAMESPACE, "pods", "-l", SELECTOR])?["items"] == Value::Array(vec![]),
        "a pod runs before the cold start"
    );
    let proxy = proxy(state)?;
    let watch = PodWatch::start(node)?;
    let sent = Instant::now();
    let reply = get_through(&proxy, "/");
    let answered = sent.elapsed().as_secs_f64();
    let events = watch.stop();
    let reply = reply?;
    ensure!(reply.status == 200 && reply.body == "Hello World!", "the first request at zero: {} {:?}", reply.status, reply.body);
    ensure!(
        reply.header(COLD_START_HEADER) == Some("true"),
        "the interceptor did not mark the first request at zero as a cold start: {:?}",
        reply.headers
    );
    let first = |what: &str, happened: &dyn Fn(&Value) -> bool| -> Result<f64> {
        events
            .iter()
            .find(|(_, pod)| happened(pod))
            .map(|(at, _)| at.saturating_duration_since(sent).as_secs_f64())
            .with_context(|| format!("the watch saw no pod {what} ({} events)", events.len()))
    };
    Ok(ColdStart {
        created: first("created", &|_| true)?,
        scheduled: first("scheduled", &|pod| pod["spec"]["nodeName"].as_str().is_some_and(|name| !name.is_empty()))?,
        running: first("running", &|pod| pod["status"]["containerStatuses"][0]["state"]["running"].is_object())?,
        ready: first("Ready", &|pod| condition_is_true(pod, "Ready"))?,
        answered,
    })
}

/// `kubectl get pods --watch -o json` on the app's pods, each object stamped
/// with the moment it arrived.
pub(crate) struct PodWatch {
    pub(crate) child: Child,
    pub(crate) reader: JoinHandle<Vec<(Instant, Value)>>,
}

impl PodWatch {
    pub(crate) fn start(node: &Node) -> Result<PodWatch> {
        let mut child = node
            .kubectl
            .command(&["-n", NAMESPACE, "get", "pods", "-l", SELECTOR, "--watch", "-o", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting kubectl get --watch")?;
        let stdout = child.stdout.take().context("kubectl's stdout")?;
        let reader = std::thread::spawn(move || {
            serde_json::Deserializer::from_reader(BufReader::new(stdout))
                .into_iter::<Value>()
                .map_while(Result::ok)
                .map(|pod| (Instant::now(), pod))
                .collect()
        });
        // The watch is open once kubectl has listed the (no) pods: give it
        // the moment it takes to start and connect.
        std::thread::sleep(Duration::from_millis(1500));
        Ok(PodWatch { child, reader })
    }

    pub(crate) fn stop(mut self) -> Vec<(Instant, Value)> {
        // Pods become Ready before the interceptor forwards the request,
        // but the watch may deliver the last event a moment later.
        std::thread::sleep(Duration::from_millis(500));
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.reader.join().unwrap_or_default()
    }
}
