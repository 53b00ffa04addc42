//! What the suites on the test node share (cluster/tests/node.rs and
//! loop/): start one node with what the suite needs, run its checks on it
//! one after the other with libtest-mimic, take the node down whatever they
//! did, and fail when it left anything on the machine.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use libtest_mimic::{Arguments, Failed, Trial};

use crate::Node;

/// One check: it fails with the reason.
pub type Check<S> = fn(&S) -> Result<()>;

/// Runs `checks`, in order, on the state `start` makes (a node and what the
/// suite adds to it); `node` gives back the node to take down.
pub fn run<S: Send + Sync + 'static>(
    checks: &[(&'static str, Check<S>)],
    start: impl FnOnce() -> Result<S>,
    node: impl FnOnce(S) -> Node,
) -> ExitCode {
    let mut arguments = Arguments::from_args();
    // The checks share one node and build on each other's state.
    arguments.test_threads = Some(1);
    if arguments.list {
        return libtest_mimic::run(&arguments, trials(checks, None)).exit_code();
    }
    let state = match start() {
        Ok(state) => Arc::new(state),
        Err(error) => {
            eprintln!("the test node did not start: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let conclusion = libtest_mimic::run(&arguments, trials(checks, Some(&state)));
    let state = Arc::into_inner(state).expect("every check has ended");
    let left = node(state).down();
    if !left.is_empty() {
        eprintln!("the test node left on the machine:\n  {}", left.join("\n  "));
        return ExitCode::FAILURE;
    }
    conclusion.exit_code()
}

fn trials<S: Send + Sync + 'static>(checks: &[(&'static str, Check<S>)], state: Option<&Arc<S>>) -> Vec<Trial> {
    checks
        .iter()
        .map(|&(name, check)| {
            let state = state.cloned();
            Trial::test(name, move || {
                let state = state.expect("checks run only with a node");
                check(&state).map_err(|error| Failed::from(format!("{error:#}")))
            })
        })
        .collect()
}
