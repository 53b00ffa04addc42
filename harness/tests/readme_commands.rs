//! The README opens with two commands, one that runs the app and one that
//! passes every test, and CI runs that test command. Each is written in
//! one place per file; this test holds the README, `.ci/run` and the
//! scripts to the same commands, so none can change alone.

use harness::repo_root;

/// The README's first two `sh` blocks: (command, comment) each.
fn opening_commands() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    readme
        .split("```sh\n")
        .skip(1)
        .take(2)
        .map(|block| {
            let line = block.lines().next().unwrap();
            let (command, comment) = line.split_once('#').unwrap_or((line, ""));
            (command.trim().to_owned(), comment.trim().to_owned())
        })
        .collect()
}

#[test]
fn the_readme_opens_with_the_run_command_and_the_test_command() {
    let commands = opening_commands();
    assert_eq!(commands.len(), 2, "the README opens with two sh blocks");
    assert_eq!(commands[0].0, "cargo run --release", "the first command runs the app");
    assert!(commands[0].1.starts_with("serve"), "the first command's comment says it serves: {:?}", commands[0].1);
    assert_eq!(commands[1], ("scripts/test.sh".to_owned(), "every test".to_owned()));
    assert!(repo_root().join(&commands[1].0).is_file(), "{} exists", commands[1].0);
}

#[test]
fn ci_runs_the_readmes_test_command_first() {
    let test_command = &opening_commands()[1].0;
    let ci = std::fs::read_to_string(repo_root().join(".ci/run")).unwrap();
    let first_phase = ci.lines().find(|line| line.starts_with("phase ")).expect(".ci/run has phases");
    assert_eq!(first_phase, format!("phase \"{test_command}\" {test_command}"), "the first phase of .ci/run");
}

#[test]
fn the_test_command_runs_every_workspace_test() {
    let script = std::fs::read_to_string(repo_root().join("scripts/test.sh")).unwrap();
    assert!(
        script.lines().any(|line| line.trim() == "exec cargo test --workspace --release \"$@\""),
        "scripts/test.sh ends in cargo test --workspace"
    );
}
