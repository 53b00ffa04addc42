//! `--runtime-config-file`: the runner reads the runtime configuration the
//! pods mount at /runtime-config.toml and `spin up` takes, and refuses what
//! it cannot honour rather than serve something else. The runner keeps every
//! key-value store in memory, so it accepts exactly that: stores of
//! `type = "spin"` without a `path` (Spin's in-memory SQLite).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;

use crate::manifest::Application;
use crate::toml_file;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntimeConfig {
    #[serde(default)]
    key_value_store: BTreeMap<String, RawKeyValueStore>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeyValueStore {
    r#type: String,
    path: Option<String>,
    // Fields of Spin's other store types, read only to name them in the error.
    url: Option<String>,
}

/// A runtime config the runner can honour: the key-value stores it defines.
#[derive(Debug, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Always holds `default`, which Spin defines without being asked.
    pub stores: BTreeSet<String>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self { stores: BTreeSet::from(["default".to_owned()]) }
    }
}

impl RuntimeConfig {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid runtime config {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self> {
        let raw: RawRuntimeConfig = toml_file::from_str(text)?;
        for (label, store) in &raw.key_value_store {
            let key = format!("key_value_store.{label}");
            if store.r#type != "spin" {
                bail!(
                    "key `{key}.type`: {:?} is not served by the runner, which keeps stores in memory \
                     (type = \"spin\" without a path); run `spin up` for other stores",
                    store.r#type
                );
            }
            if store.path.is_some() {
                bail!(
                    "key `{key}.path`: the runner keeps stores in memory only; \
                     remove the path, or run `spin up` for an on-disk store"
                );
            }
            if store.url.is_some() {
                bail!("key `{key}.url`: a store of type \"spin\" has no url");
            }
        }
        let mut config = Self::default();
        config.stores.extend(raw.key_value_store.into_keys());
        Ok(config)
    }

    /// Spin refuses to start a component that names a store no one
    /// defined; so does the runner, rather than invent one.
    pub fn check_stores(&self, app: &Application) -> Result<()> {
        for label in &app.key_value_stores {
            ensure!(
                self.stores.contains(label),
                "key `component.{}.key_value_stores`: unknown store {label:?}; \
                 define it as [key_value_store.{label}] in a runtime config (--runtime-config-file)",
                app.component_id
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_pods_runtime_config() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/wasm/runtime-config.toml");
        let config = RuntimeConfig::load(&file).unwrap();
        assert_eq!(config, RuntimeConfig::default());
    }

    #[test]
    fn refuses_what_the_runner_cannot_honour_naming_the_key() {
        for (text, key) in [
            ("[key_value_store.default]\ntype = \"spin\"\npath = \"kv.db\"\n", "key `key_value_store.default.path`"),
            ("[key_value_store.cache]\ntype = \"redis\"\nurl = \"redis://x\"\n", "key `key_value_store.cache.type`"),
            ("[key_value_store.default]\npath = \"kv.db\"\n", "key `key_value_store.default`: missing field `type`"),
            ("[key_value_store.default]\ntype = 1\n", "key `key_value_store.default.type`: invalid type: integer `1`"),
            ("[sqlite_database.default]\ntype = \"spin\"\n", "key `sqlite_database`: unknown field `sqlite_database`"),
            ("key_value_store = 3\n", "key `key_value_store`: invalid type: integer `3`"),
        ] {
            let error = format!("{:#}", RuntimeConfig::parse(text).unwrap_err());
            assert!(error.contains(key), "{text:?} gave {error:?}, which does not name {key:?}");
        }
    }

    #[test]
    fn a_syntax_error_names_its_line() {
        let error = format!("{:#}", RuntimeConfig::parse("[key_value_store.default]\ntype = \n").unwrap_err());
        assert!(error.contains("line 2"), "{error}");
    }

    #[test]
    fn generated_runtime_configs_are_read_or_refused_naming_file_and_key() {
        crate::toml_file::generated::check_reader("manifests/wasm/runtime-config.toml", |file| RuntimeConfig::load(file).map(drop));
    }
}
