//! Reading the TOML files the runner shares with Spin (spin.toml and the
//! runtime config), so that every error says which key is wrong: a user
//! fixes `component.app.source`, not "invalid type at byte 212".

use anyhow::{Result, anyhow};
use serde::de::DeserializeOwned;

/// Deserialize a TOML document. A syntax error names its line and column;
/// a document of the wrong shape names the key (`key_value_store.default.type`),
/// or its table when a required key is missing.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T> {
    let document = toml::Deserializer::parse(text).map_err(|error| anyhow!(located(text, &error)))?;
    serde_path_to_error::deserialize(document).map_err(|error| {
        let key = error.path().to_string();
        let error = error.into_inner();
        anyhow!("{}: {}", key_name(&key), located(text, &error))
    })
}

/// How errors name a key: by its dotted path from the top of the document.
pub fn key_name(key: &str) -> String {
    // serde_path_to_error writes the document itself as ".".
    if key == "." { "the top-level table".to_owned() } else { format!("key `{key}`") }
}

fn located(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end();
    match error.span() {
        Some(span) => {
            // Bytes, so that a span inside a character cannot panic.
            let before = &text.as_bytes()[..span.start.min(text.len())];
            let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
            let line_start = before.iter().rposition(|&byte| byte == b'\n').map_or(0, |at| at + 1);
            let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
            format!("{message} (line {line}, column {column})")
        }
        None => message.to_owned(),
    }
}

/// Generated TOML for the readers' property tests: the project's own file
/// with keys removed, retyped and added, and whatever the generator finds
/// inside. Each reader must accept the document or name, with its file, a
/// key the document really has.
#[cfg(test)]
pub mod generated {
    use std::path::Path;

    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    use toml::{Table, Value};

    /// Generated documents per reader and run.
    pub const CASES: u32 = 1000;

    /// Keys both readers know, so that mutations reach past the first
    /// unknown name, and a few arbitrary ones.
    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => prop::sample::select(vec![
                "spin_manifest_version", "trigger", "http", "route", "component", "source",
                "key_value_stores", "variables", "default", "required", "build", "command",
                "watch", "workdir", "key_value_store", "type", "path", "url", "keda-spin-autoscaling",
            ])
            .prop_map(str::to_owned),
            1 => "[a-z_-]{1,8}",
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<String>().prop_map(Value::String),
            prop::sample::select(vec!["/", "/...", "spin", "default", "x.wasm", "{{ simulated_work_ms }}", "{{"])
                .prop_map(|text| Value::String(text.to_owned())),
            any::<i64>().prop_map(Value::Integer),
            (0i64..4).prop_map(Value::Integer),
            any::<f64>().prop_map(Value::Float),
            any::<bool>().prop_map(Value::Boolean),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(key(), inner, 0..4)
                    .prop_map(|entries| Value::Table(entries.into_iter().collect())),
            ]
        })
    }

    #[derive(Clone, Debug)]
    enum Mutation {
        Remove,
        Replace(Value),
        Insert(String, Value),
    }

    fn mutation() -> impl Strategy<Value = (prop::sample::Index, Mutation)> {
        let mutation = prop_oneof![
            Just(Mutation::Remove),
            value().prop_map(Mutation::Replace),
            (key(), value()).prop_map(|(key, value)| Mutation::Insert(key, value)),
        ];
        (any::<prop::sample::Index>(), mutation)
    }

    /// Every place in `table` a mutation can reach, as paths of steps.
    fn places(value: &Value, path: &mut Vec<Step>, all: &mut Vec<Vec<Step>>) {
        all.push(path.clone());
        let children: Vec<(Step, &Value)> = match value {
            Value::Table(table) => table.iter().map(|(key, child)| (Step::Key(key.clone()), child)).collect(),
            Value::Array(items) => items.iter().enumerate().map(|(index, child)| (Step::Index(index), child)).collect(),
            _ => Vec::new(),
        };
        for (step, child) in children {
            path.push(step);
            places(child, path, all);
            path.pop();
        }
    }

    #[derive(Clone, Debug)]
    enum Step {
        Key(String),
        Index(usize),
    }

    fn apply(document: &mut Value, (place, mutation): (prop::sample::Index, Mutation)) {
        let mut all = Vec::new();
        places(document, &mut Vec::new(), &mut all);
        let path = place.get(&all).clone();
        let Some((last, parent_path)) = path.split_last() else {
            if let (Mutation::Insert(key, value), Value::Table(table)) = (mutation, document) {
                table.insert(key, value);
            }
            return;
        };
        let mut parent = &mut *document;
        for step in parent_path {
            parent = match (step, parent) {
                (Step::Key(key), Value::Table(table)) => &mut table[key],
                (Step::Index(index), Value::Array(items)) => &mut items[*index],
                _ => unreachable!("a path from `places`"),
            };
        }
        match (mutation, last, parent) {
            (Mutation::Remove, Step::Key(key), Value::Table(table)) => drop(table.remove(key)),
            (Mutation::Remove, Step::Index(index), Value::Array(items)) => drop(items.remove(*index)),
            (Mutation::Replace(value), Step::Key(key), Value::Table(table)) => drop(table.insert(key.clone(), value)),
            (Mutation::Replace(value), Step::Index(index), Value::Array(items)) => items[*index] = value,
            (Mutation::Insert(key, value), Step::Key(at), Value::Table(table)) => {
                if let Some(Value::Table(child)) = table.get_mut(at) {
                    child.insert(key, value);
                }
            }
            _ => {}
        }
    }

    /// `base` with one to four mutations, as TOML text.
    pub fn documents(base: &str) -> impl Strategy<Value = String> + use<> {
        let base: Table = toml::from_str(base).expect("the project's own file parses");
        prop::collection::vec(mutation(), 1..5).prop_filter_map("TOML cannot write it", move |mutations| {
            let mut document = Value::Table(base.clone());
            for mutation in mutations {
                apply(&mut document, mutation);
            }
            toml::to_string(&document).ok()
        })
    }

    /// Whether `key`, a path such as `trigger.http[0].route`, exists in the
    /// document, or is a field serde read by position from an array. Generated keys hold no `.` or `[`, so the split is exact.
    fn resolves(document: &Value, key: &str) -> bool {
        let mut at = document;
        for part in key.split('.') {
            let (name, indexes) = part.split_once('[').map_or((part, ""), |(name, rest)| (name, rest));
            // serde reads a table's fields in order from an array, as Spin's
            // own reader does, so a key may name a field of an array.
            if at.is_array() {
                return true;
            }
            let Some(next) = at.as_table().and_then(|table| table.get(name)) else { return false };
            at = next;
            for index in indexes.split('[').filter(|index| !index.is_empty()) {
                let Ok(index) = index.trim_end_matches(']').parse::<usize>() else { return false };
                let Some(next) = at.as_array().and_then(|items| items.get(index)) else { return false };
                at = next;
            }
        }
        true
    }

    /// Run `read` on `CASES` generated variants of the project's file
    /// `project_file` (a path from the repository's root; deterministically
    /// seeded), each written to a file of the same name in a temporary
    /// directory, and check that every error names that file and a key of
    /// the document.
    pub fn check_reader(project_file: &str, read: impl Fn(&Path) -> anyhow::Result<()>) {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(project_file);
        let base = std::fs::read_to_string(base).unwrap();
        let dir = std::env::temp_dir().join(format!("runner-generated-{}-{}", std::process::id(), project_file.replace('/', "-")));
        std::fs::create_dir_all(&dir).unwrap();
        let file = &dir.join(Path::new(project_file).file_name().unwrap());
        let config = Config { cases: CASES, failure_persistence: None, ..Config::default() };
        let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
        let (accepted, refused) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
        runner
            .run(&documents(&base), |text| {
                std::fs::write(file, &text).unwrap();
                let Err(error) = read(file) else {
                    accepted.set(accepted.get() + 1);
                    return Ok(());
                };
                refused.set(refused.get() + 1);
                let error = format!("{error:#}");
                let named = format!("{}: ", file.display());
                prop_assert!(error.contains(&named), "{error:?} does not name the file");
                let reason = &error[error.find(&named).unwrap() + named.len()..];
                if reason.starts_with("the top-level table: ") {
                    return Ok(());
                }
                let key = reason
                    .strip_prefix("key `")
                    .and_then(|rest| rest.split_once("`: "))
                    .map(|(key, _)| key);
                prop_assert!(key.is_some(), "{error:?} names no key");
                let document: Value = toml::from_str(&text).unwrap();
                prop_assert!(resolves(&document, key.unwrap()), "{error:?} names a key that is not in\n{text}");
                Ok(())
            })
            .unwrap();
        std::fs::remove_dir_all(dir).unwrap();
        let (accepted, refused) = (accepted.get(), refused.get());
        eprintln!("{CASES} generated documents: {accepted} accepted, {refused} refused naming the key");
        // A generator that never breaks the file, or always does, tests nothing.
        assert!(refused >= CASES / 10 && accepted >= 1, "{accepted} accepted, {refused} refused");
    }
}
