//! `fermyon:spin/variables`: component variables resolved once at start-up,
//! the way Spin resolves them.
//!
//! An application variable takes, in order of precedence, a `--variable`
//! value, a `SPIN_VARIABLE_<NAME>` environment variable, or its spin.toml
//! default. Component variables are templates over application variables.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use wasmtime::component::HasData;

use crate::bindings::fermyon::spin::variables::{self, Error};
use crate::manifest::{Application, TemplatePart, template_parts};

#[derive(Clone, Debug, Default)]
pub struct Variables {
    component: BTreeMap<String, String>,
}

pub struct VariablesData;

impl HasData for VariablesData {
    type Data<'a> = &'a Variables;
}

impl Variables {
    /// Resolve `app`'s variables against `overrides` (from the command line)
    /// and `environment` (a lookup of environment variables).
    pub fn resolve(
        app: &Application,
        overrides: &BTreeMap<String, String>,
        environment: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        if let Some(unknown) = overrides.keys().find(|name| !app.app_variables.contains_key(*name)) {
            bail!("--variable {unknown}: spin.toml declares no such variable");
        }
        let mut values = BTreeMap::new();
        for (name, variable) in &app.app_variables {
            let value = overrides
                .get(name)
                .cloned()
                .or_else(|| environment(&environment_name(name)))
                .or_else(|| variable.default.clone());
            match value {
                Some(value) => {
                    values.insert(name.as_str(), value);
                }
                None if variable.required => bail!(
                    "variable {name:?} is required: set {} or pass --variable {name}=VALUE",
                    environment_name(name)
                ),
                None => {}
            }
        }
        let component = app
            .component_variables
            .iter()
            .map(|(name, template)| Ok((name.clone(), render(template, &values)?)))
            .collect::<Result<_>>()?;
        Ok(Self { component })
    }
}

/// `simulated_work_ms` is set by `SPIN_VARIABLE_SIMULATED_WORK_MS`.
pub fn environment_name(variable: &str) -> String {
    format!("SPIN_VARIABLE_{}", variable.to_ascii_uppercase())
}

fn render(template: &str, values: &BTreeMap<&str, String>) -> Result<String> {
    let mut rendered = String::with_capacity(template.len());
    for part in template_parts(template)? {
        match part {
            TemplatePart::Text(text) => rendered.push_str(text),
            TemplatePart::Variable(name) => rendered.push_str(
                values
                    .get(name)
                    .with_context(|| format!("variable {name:?} has no value"))?,
            ),
        }
    }
    Ok(rendered)
}

/// Spin's rule for variable names: lower-case letters, digits and single
/// underscores, starting with a letter.
fn is_valid_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_')
}

impl variables::Host for &Variables {
    fn get(&mut self, name: String) -> wasmtime::Result<Result<String, Error>> {
        if !is_valid_name(&name) {
            return Ok(Err(Error::InvalidName(name)));
        }
        Ok(self.component.get(&name).cloned().ok_or(Error::Undefined(name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use variables::Host;

    fn app() -> Application {
        let manifest = r#"
            spin_manifest_version = 2
            [variables]
            work = { default = "0" }
            token = { required = true }
            [[trigger.http]]
            route = "/..."
            component = "app"
            [component.app]
            source = "app.wasm"
            [component.app.variables]
            simulated_work_ms = "{{ work }}"
            greeting = "token={{token}}, work={{  work  }}."
        "#;
        Application::parse(manifest, Path::new("/")).unwrap()
    }

    fn get(variables: &Variables, name: &str) -> Result<String, Error> {
        let mut host = variables;
        host.get(name.into()).unwrap()
    }

    #[test]
    fn precedence_is_flag_then_environment_then_default() {
        let environment = |name: &str| match name {
            "SPIN_VARIABLE_WORK" => Some("600".to_owned()),
            "SPIN_VARIABLE_TOKEN" => Some("t".to_owned()),
            _ => None,
        };
        let variables = Variables::resolve(&app(), &BTreeMap::new(), environment).unwrap();
        assert_eq!(get(&variables, "simulated_work_ms").unwrap(), "600");
        assert_eq!(get(&variables, "greeting").unwrap(), "token=t, work=600.");

        let flags = BTreeMap::from([("work".to_owned(), "5".to_owned())]);
        let variables = Variables::resolve(&app(), &flags, environment).unwrap();
        assert_eq!(get(&variables, "simulated_work_ms").unwrap(), "5");

        let only_token = |name: &str| (name == "SPIN_VARIABLE_TOKEN").then(|| "t".to_owned());
        let variables = Variables::resolve(&app(), &BTreeMap::new(), only_token).unwrap();
        assert_eq!(get(&variables, "simulated_work_ms").unwrap(), "0");
    }

    #[test]
    fn missing_required_and_unknown_variables_are_errors() {
        let error = Variables::resolve(&app(), &BTreeMap::new(), |_| None).unwrap_err();
        assert!(error.to_string().contains("SPIN_VARIABLE_TOKEN"), "{error}");
        let flags = BTreeMap::from([("nope".to_owned(), "1".to_owned())]);
        assert!(Variables::resolve(&app(), &flags, |_| Some("x".into())).is_err());
    }

    #[test]
    fn guest_errors_name_the_problem() {
        let variables = Variables::resolve(&app(), &BTreeMap::new(), |_| Some("1".into())).unwrap();
        assert!(matches!(get(&variables, "Bad-Name"), Err(Error::InvalidName(_))));
        assert!(matches!(get(&variables, "missing"), Err(Error::Undefined(_))));
    }
}
