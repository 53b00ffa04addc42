//! The part of a Spin 3 manifest (`spin_manifest_version = 2`) the runner
//! needs: which component serves which route, where its Wasm is, how to build
//! it, and what it may use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;

use crate::toml_file;

#[derive(Debug, Deserialize)]
struct RawManifest {
    spin_manifest_version: u32,
    #[serde(default)]
    variables: BTreeMap<String, RawVariable>,
    trigger: RawTriggers,
    component: BTreeMap<String, RawComponent>,
}

#[derive(Debug, Deserialize)]
struct RawVariable {
    default: Option<String>,
    #[serde(default)]
    required: bool,
}

#[derive(Debug, Deserialize)]
struct RawTriggers {
    http: Vec<RawHttpTrigger>,
}

#[derive(Debug, Deserialize)]
struct RawHttpTrigger {
    route: String,
    component: String,
}

#[derive(Debug, Deserialize)]
struct RawComponent {
    source: String,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    build: Option<RawBuild>,
}

#[derive(Debug, Deserialize)]
struct RawBuild {
    command: String,
    #[serde(default)]
    watch: Vec<String>,
    workdir: Option<String>,
}

/// An application variable: the defaults spin.toml declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppVariable {
    pub default: Option<String>,
    pub required: bool,
}

/// The one HTTP component the runner serves, as spin.toml describes it.
#[derive(Clone, Debug)]
pub struct Application {
    pub component_id: String,
    /// The route pattern, such as `/...` or `/metrics`.
    pub route: String,
    /// The component's Wasm file, absolute.
    pub source: PathBuf,
    pub key_value_stores: Vec<String>,
    pub app_variables: BTreeMap<String, AppVariable>,
    /// Component variables, as templates over the application variables.
    pub component_variables: BTreeMap<String, String>,
    pub build: Option<Build>,
}

#[derive(Clone, Debug)]
pub struct Build {
    pub command: String,
    pub workdir: PathBuf,
    /// Glob patterns, relative to `workdir`, whose files make the Wasm stale.
    pub watch: Vec<String>,
}

impl Application {
    pub fn load(manifest_path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(manifest_path)
            .with_context(|| format!("cannot read {}", manifest_path.display()))?;
        let base = manifest_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Self::parse(&text, &base).with_context(|| format!("invalid {}", manifest_path.display()))
    }

    /// Parse a manifest whose relative paths start at `base`. Every error
    /// names the key it is about.
    pub fn parse(text: &str, base: &Path) -> Result<Self> {
        let raw: RawManifest = toml_file::from_str(text)?;
        ensure!(
            raw.spin_manifest_version == 2,
            "key `spin_manifest_version`: must be 2, not {}",
            raw.spin_manifest_version
        );
        let [trigger] = raw.trigger.http.as_slice() else {
            bail!(
                "key `trigger.http`: the runner serves exactly one [[trigger.http]], found {}",
                raw.trigger.http.len()
            );
        };
        ensure!(
            trigger.route.starts_with('/'),
            "key `trigger.http[0].route`: {:?} must start with '/'",
            trigger.route
        );
        let component = raw.component.get(&trigger.component).with_context(|| {
            format!(
                "key `trigger.http[0].component`: names component {:?}, which is not defined",
                trigger.component
            )
        })?;
        for (name, template) in &component.variables {
            let key = format!("key `component.{}.variables.{name}`", trigger.component);
            for referenced in template_references(template).with_context(|| key.clone())? {
                ensure!(
                    raw.variables.contains_key(referenced),
                    "{key}: refers to undefined variable {referenced:?}"
                );
            }
        }
        let build = component.build.as_ref().map(|build| Build {
            command: build.command.clone(),
            workdir: base.join(build.workdir.as_deref().unwrap_or(".")),
            watch: build.watch.clone(),
        });
        Ok(Self {
            component_id: trigger.component.clone(),
            route: trigger.route.clone(),
            source: base.join(&component.source),
            key_value_stores: component.key_value_stores.clone(),
            app_variables: raw
                .variables
                .into_iter()
                .map(|(name, variable)| {
                    let variable = AppVariable { default: variable.default, required: variable.required };
                    (name, variable)
                })
                .collect(),
            component_variables: component.variables.clone(),
            build,
        })
    }

    /// Whether `path` is served by the trigger's route: `/...` matches any
    /// path below the prefix, anything else must match exactly.
    pub fn route_matches(&self, path: &str) -> bool {
        match self.route.strip_suffix("/...") {
            Some(prefix) => {
                path == prefix
                    || path
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
                    || prefix.is_empty()
            }
            None => path == self.route,
        }
    }
}

/// A template split into literal text and `{{ name }}` references.
#[derive(Debug, PartialEq, Eq)]
pub enum TemplatePart<'a> {
    Text(&'a str),
    Variable(&'a str),
}

pub fn template_parts(template: &str) -> Result<Vec<TemplatePart<'_>>> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        parts.push(TemplatePart::Text(&rest[..start]));
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .with_context(|| format!("unclosed '{{{{' in template {template:?}"))?;
        parts.push(TemplatePart::Variable(after[..end].trim()));
        rest = &after[end + 2..];
    }
    parts.push(TemplatePart::Text(rest));
    Ok(parts)
}

/// The variable names a template refers to.
pub fn template_references(template: &str) -> Result<Vec<&str>> {
    Ok(template_parts(template)?
        .into_iter()
        .filter_map(|part| match part {
            TemplatePart::Variable(name) => Some(name),
            TemplatePart::Text(_) => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project_manifest() -> Application {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Application::load(&root.join("spin.toml")).unwrap()
    }

    #[test]
    fn reads_the_projects_spin_toml() {
        let app = project_manifest();
        assert_eq!(app.component_id, "keda-spin-autoscaling");
        assert_eq!(app.route, "/...");
        assert!(app.source.ends_with("keda_spin_autoscaling.wasm"));
        assert_eq!(app.key_value_stores, ["default"]);
        assert_eq!(
            app.app_variables["simulated_work_ms"],
            AppVariable { default: Some("0".into()), required: false }
        );
        assert_eq!(app.component_variables["simulated_work_ms"], "{{ simulated_work_ms }}");
        let build = app.build.unwrap();
        assert!(build.command.contains("wasm32-wasip2"));
        assert!(build.watch.iter().any(|pattern| pattern.starts_with("src/")));
    }

    #[test]
    fn catch_all_route_matches_every_path() {
        let app = project_manifest();
        for path in ["/", "/metrics", "/a/b/c"] {
            assert!(app.route_matches(path), "{path}");
        }
    }

    #[test]
    fn prefix_and_exact_routes() {
        let mut app = project_manifest();
        app.route = "/api/...".into();
        assert!(app.route_matches("/api"));
        assert!(app.route_matches("/api/x"));
        assert!(!app.route_matches("/apix"));
        assert!(!app.route_matches("/"));
        app.route = "/metrics".into();
        assert!(app.route_matches("/metrics"));
        assert!(!app.route_matches("/metrics/x"));
    }

    #[test]
    fn rejects_manifests_the_runner_cannot_serve() {
        let base = Path::new("/app");
        let no_component = r#"
            spin_manifest_version = 2
            [[trigger.http]]
            route = "/..."
            component = "missing"
            [component.other]
            source = "x.wasm"
        "#;
        let error = Application::parse(no_component, base).unwrap_err();
        assert!(format!("{error:#}").contains("\"missing\""), "{error:#}");

        let undefined_variable = r#"
            spin_manifest_version = 2
            [[trigger.http]]
            route = "/..."
            component = "app"
            [component.app]
            source = "x.wasm"
            [component.app.variables]
            x = "{{ nope }}"
        "#;
        let error = Application::parse(undefined_variable, base).unwrap_err();
        assert!(format!("{error:#}").contains("\"nope\""), "{error:#}");

        let version_one = "spin_manifest_version = 1\n[trigger]\nhttp = []\n[component]\n";
        assert!(Application::parse(version_one, base).is_err());
    }

    #[test]
    fn generated_manifests_are_read_or_refused_naming_file_and_key() {
        crate::toml_file::generated::check_reader("spin.toml", |file| Application::load(file).map(drop));
    }
}
