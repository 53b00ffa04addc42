//! Builds the component with spin.toml's own build command, as `spin build`
//! would, whenever its Wasm is missing or older than a watched file.

use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, Result, bail, ensure};

use crate::manifest::{Application, Build};

/// The target spin-sdk 5.2 components are built for.
const WASM_TARGET: &str = "wasm32-wasip2";

pub fn ensure_built(app: &Application) -> Result<()> {
    let Some(build) = &app.build else {
        ensure!(app.source.exists(), "{} does not exist and spin.toml has no build command", app.source.display());
        return Ok(());
    };
    // Runners started together (tests start many) would otherwise all run
    // `rustup target add` and the build at once: one builds, the rest wait
    // and then find the component fresh.
    let lock = std::fs::File::create(std::env::temp_dir().join("keda-spin-runner-build.lock"))?;
    lock.lock()?;
    match stale_reason(&app.source, build)? {
        None => Ok(()),
        Some(reason) => {
            tracing::info!("building {}: {reason}", app.component_id);
            if build.command.contains(WASM_TARGET) {
                ensure_rust_target(WASM_TARGET)?;
            }
            run(build)?;
            // Cargo leaves an up-to-date output untouched; mark it as built
            // from the current sources so the next start skips the build.
            let output = std::fs::File::options()
                .append(true)
                .open(&app.source)
                .with_context(|| format!("the build command did not produce {}", app.source.display()))?;
            output.set_modified(SystemTime::now())?;
            Ok(())
        }
    }
}

/// Why the Wasm needs building, or `None` when it is up to date.
fn stale_reason(source: &Path, build: &Build) -> Result<Option<String>> {
    let Ok(built) = source.metadata().and_then(|metadata| metadata.modified()) else {
        return Ok(Some(format!("{} is missing", source.display())));
    };
    for pattern in &build.watch {
        let pattern = build.workdir.join(pattern);
        let pattern = pattern.to_str().context("watch pattern is not UTF-8")?;
        for path in glob::glob(pattern).with_context(|| format!("bad watch pattern {pattern:?}"))? {
            let path = path?;
            let modified = path.metadata()?.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if modified > built {
                return Ok(Some(format!("{} changed", path.display())));
            }
        }
    }
    Ok(None)
}

/// A fresh machine has no Wasm target, and rustup here does not install one
/// on demand.
fn ensure_rust_target(target: &str) -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("cannot run rustup to check for the wasm32-wasip2 target")?;
    let installed = String::from_utf8_lossy(&installed.stdout);
    if installed.lines().any(|line| line.trim() == target) {
        return Ok(());
    }
    tracing::info!("adding the Rust target {target}");
    let status = Command::new("rustup").args(["target", "add", target]).status()?;
    ensure!(status.success(), "`rustup target add {target}` failed with {status}");
    Ok(())
}

fn run(build: &Build) -> Result<()> {
    // Spin runs the command through a shell, so the manifest may use one.
    let status = Command::new("sh")
        .arg("-c")
        .arg(&build.command)
        .current_dir(&build.workdir)
        .status()
        .with_context(|| format!("cannot run `{}`", build.command))?;
    if !status.success() {
        bail!("`{}` failed with {status}", build.command);
    }
    Ok(())
}
