//! The load Job in manifests/load drives Service test where it listens.

use harness::kustomize::render_values;
use harness::repo_root;
use scaling::manifests::{self, Service};

#[test]
fn the_load_job_targets_service_test_at_a_pinned_image_with_rate_and_duration() {
    let objects = render_values("manifests/load");
    let job = objects.iter().find(|object| object["kind"] == "Job").expect("a Job");
    let container = &job["spec"]["template"]["spec"]["containers"][0];

    // A tag, never latest; the digest, when there is one, after it.
    let image = container["image"].as_str().unwrap();
    let (name, tag) = image.split('@').next().unwrap().rsplit_once(':').expect("a tagged image");
    assert_eq!(name, "fortio/fortio");
    assert!(tag.split('.').all(|part| part.parse::<u32>().is_ok()), "tag {tag} is not a release version");

    // The Service's own name, namespace and port, read from manifests/base.
    let service: Service = manifests::load(&repo_root().join("manifests/base"), "Service").unwrap();
    let base = manifests::documents(&repo_root().join("manifests/base")).unwrap();
    let service_yaml = base.iter().find(|document| document["kind"].as_str() == Some("Service")).unwrap();
    let port = service_yaml["spec"]["ports"][0]["port"].as_u64().unwrap();
    let url = format!(
        "http://{}.{}.svc.cluster.local:{port}/",
        service.metadata.name,
        service.metadata.namespace.as_deref().unwrap()
    );
    let args: Vec<&str> = container["args"].as_array().unwrap().iter().map(|arg| arg.as_str().unwrap()).collect();
    assert_eq!(args.last(), Some(&url.as_str()), "{args:?}");

    // Rate and duration are arguments, expanded from the ConfigMap the Job reads.
    let after = |flag: &str| args[args.iter().position(|arg| *arg == flag).unwrap() + 1];
    assert_eq!((after("-qps"), after("-t")), ("$(RATE)", "$(DURATION)"));
    let settings = objects.iter().find(|object| object["kind"] == "ConfigMap").expect("the settings");
    for variable in container["env"].as_array().unwrap() {
        let reference = &variable["valueFrom"]["configMapKeyRef"];
        assert_eq!(reference["name"], settings["metadata"]["name"]);
        assert!(settings["data"][reference["key"].as_str().unwrap()].is_string());
    }
    assert_eq!(settings["data"]["RATE"].as_str().unwrap().parse::<f64>().ok(), Some(60.0));

    // It runs once, outside namespace test, whose default-deny policy allows no egress.
    assert_eq!(job["spec"]["backoffLimit"], 0);
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
    assert_ne!(job["metadata"]["namespace"], "test");
}
