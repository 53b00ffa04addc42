//! The first requests at zero: one, after the cooldown, after a long idle,
//! a hundred at once, and load through the interceptor.

use super::*;

pub(crate) fn first_request_is_answered_and_counted(state: &ScaleToZero) -> Result<()> {
    let cold = cold_start(state)?;
    *state.first_answered.lock().unwrap() = Some(Instant::now());
    cold.print();
    let pods = ready_pods(&state.node)?;
    ensure!(pods.len() == 1, "one request woke {} pods", pods.len());
    let counted = count(Path::Wasm, &pods[0].ip)?;
    ensure!(counted == 1.0, "the first request was counted {counted} times by the pod it woke");
    Ok(())
}

/// After the first request nothing is in flight and the rate stays under
/// the activation threshold: KEDA takes the Deployment back to 0 at its
/// first poll after the shipped cooldown of 60 s, and the ScaledObject
/// stays Ready at zero (no data is read as 0 in this overlay).
pub(crate) fn idle_goes_to_zero(state: &ScaleToZero) -> Result<()> {
    let answered = state.first_answered.lock().unwrap().context("the first request was not answered")?;
    wait_for_zero(&state.node, SHIPPED_IDLE_TO_ZERO + Duration::from_secs(60))?;
    let idle = answered.elapsed().as_secs_f64();
    // Less a poll's worth: KEDA last saw the request in flight while the
    // pod started, up to a few seconds before the answer.
    ensure!(idle >= 55.0, "back to 0 {idle:.0} s after the last request, before the cooldown of 60 s");
    println!("idle: 0 replicas and no pod {idle:.0} s after the last request (cooldownPeriod 60 s, pollingInterval 15 s)");
    let scaled_object = state.node.kubectl.get_json(&["-n", NAMESPACE, "scaledobject", "test"])?;
    ensure!(condition_is_true(&scaled_object, "Ready"), "the ScaledObject is not Ready at zero: {:#}", scaled_object["status"]);
    Ok(())
}

/// The add-on's only timer that runs while nothing happens is its
/// informers' resync (`KEDA_HTTP_SCALER_CONFIG_MAP_INFORMER_RSYNC_PERIOD`,
/// 60 min, in the interceptor and the scaler); the reports of first
/// requests lost after 30 min or more of idle (http-add-on #1692) point at
/// what the add-on keeps while idle. Here the resync is shortened to 20 s,
/// the Deployment idles at zero for 120 s (six resyncs of both), and the
/// first request must still be answered.
pub(crate) fn long_idle(state: &ScaleToZero) -> Result<()> {
    const IDLE: Duration = Duration::from_secs(120);
    let node = &state.node;
    for deployment in ["interceptor", "scaler"] {
        let deployment = format!("deployment/keda-add-ons-http-{deployment}");
        node.kubectl.run(&[
            "-n",
            http_add_on::NAMESPACE,
            "set",
            "env",
            &deployment,
            "KEDA_HTTP_SCALER_CONFIG_MAP_INFORMER_RSYNC_PERIOD=20s",
        ])?;
        node.kubectl
            .run_within(&["-n", http_add_on::NAMESPACE, "rollout", "status", &deployment, "--timeout=180s"], Duration::from_secs(190))?;
    }
    *state.proxy.lock().unwrap() = Some(reachable_proxy(node)?);
    wait_for_zero(node, Duration::from_secs(60))?;
    std::thread::sleep(IDLE);
    let cold = cold_start(state)?;
    println!("after {} s idle at zero, the add-on resyncing every 20 s:", IDLE.as_secs());
    cold.print();
    Ok(())
}

pub(crate) fn hundred_first_requests(state: &ScaleToZero) -> Result<()> {
    const REQUESTS: usize = 100;
    wait_for_zero(&state.node, SHIPPED_IDLE_TO_ZERO + Duration::from_secs(90))?;
    let proxy = proxy(state)?;
    let barrier = Arc::new(Barrier::new(REQUESTS));
    let started = Instant::now();
    let clients: Vec<JoinHandle<Result<Answer>>> = (0..REQUESTS)
        .map(|_| {
            let (barrier, proxy) = (barrier.clone(), proxy.clone());
            std::thread::spawn(move || {
                barrier.wait();
                get_through(&proxy, "/")
            })
        })
        .collect();
    let answers: Vec<Result<Answer>> = clients.into_iter().map(|client| client.join().expect("a client thread panicked")).collect();
    let took = started.elapsed();
    let failed: Vec<String> = answers
        .iter()
        .filter_map(|answer| match answer {
            Ok(answer) if answer.status == 200 && answer.body == "Hello World!" => None,
            Ok(answer) => Some(format!("{} {:?}", answer.status, answer.body)),
            Err(error) => Some(format!("{error:#}")),
        })
        .collect();
    ensure!(failed.is_empty(), "{} of {REQUESTS} first requests at zero failed: {failed:?}", failed.len());
    let cold = answers.iter().flatten().filter(|answer| answer.header(COLD_START_HEADER) == Some("true")).count();
    let pods = ready_pods(&state.node)?;
    let mut counted = 0.0;
    for pod in &pods {
        counted += count(Path::Wasm, &pod.ip)?;
    }
    ensure!(counted == REQUESTS as f64, "{REQUESTS} first requests answered, counted {counted} by {} pods", pods.len());
    println!(
        "{REQUESTS} concurrent first requests at zero: all 200 within {:.2} s, {cold} marked cold by the interceptor, counted {counted} by {} pod(s)",
        took.as_secs_f64(),
        pods.len()
    );
    Ok(())
}

/// manifests/load's Job (60 req/s for 120 s, 8 connections) through the
/// interceptor: the Prometheus trigger must still take the Deployment to
/// ceil(60 / 10) = 6 Ready pods, as on the wasm path alone (the loop), with
/// every request answered; the add-on's trigger must not ask for more.
pub(crate) fn load_scales_out(state: &ScaleToZero) -> Result<()> {
    const RATE: f64 = 60.0;
    const SECONDS: f64 = 120.0;
    const UNDER_LOAD: usize = 6;
    let node = &state.node;
    load::apply_aimed_at(node, &http_add_on::proxy_url(), &[&format!("Host: {HOST}")])?;
    let started = Instant::now();
    let mut at_six = None;
    let mut most = 0;
    let ended = loop {
        let ready = ready_pods(node)?.len();
        most = most.max(ready);
        if at_six.is_none() && ready >= UNDER_LOAD {
            at_six = Some(started.elapsed().as_secs_f64());
        }
        if let Some(ended) = load::job_state(node)? {
            break ended;
        }
        ensure!(started.elapsed() < Duration::from_secs(300), "the load Job had not ended 300 s after its apply:\n{}", load::report(node));
        std::thread::sleep(Duration::from_secs(5));
    };
    let report = load::report(node);
    ensure!(ended, "the load Job failed: some request got an HTTP error:\n{report}");
    let codes = load::fortio_codes(&report)?;
    let answered: u64 = codes.iter().filter(|(code, _)| *code == 200).map(|(_, count)| count).sum();
    ensure!(answered == (RATE * SECONDS) as u64, "fortio through the interceptor: {codes:?}, not {} answered 200", RATE * SECONDS);
    let at_six = at_six.with_context(|| format!("the Deployment never had {UNDER_LOAD} Ready pods under load (at most {most})"))?;
    ensure!(most <= UNDER_LOAD + 1, "{most} Ready pods for {RATE} req/s at 10 each");
    println!("through the interceptor: {UNDER_LOAD} Ready pods {at_six:.0} s after the Job's apply, at most {most}; fortio {codes:?}");
    Ok(())
}
