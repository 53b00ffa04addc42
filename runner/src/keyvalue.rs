//! `wasi:keyvalue@0.2.0-draft2` over process-wide memory, as a Spin pod with
//! an in-memory default store has it: values live as long as the process and
//! are shared by every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use wasmtime::component::{HasData, Resource, ResourceTable};

use crate::bindings::wasi::keyvalue::atomics::{self, CasError};
use crate::bindings::wasi::keyvalue::store::{self, Error, KeyResponse};

type Entries = HashMap<String, Vec<u8>>;

/// The stores spin.toml grants the component, by label.
#[derive(Debug, Default)]
pub struct KeyValueStores {
    granted: HashMap<String, Arc<Mutex<Entries>>>,
}

impl KeyValueStores {
    pub fn new(labels: &[String]) -> Self {
        let granted = labels
            .iter()
            .map(|label| (label.clone(), Arc::default()))
            .collect();
        Self { granted }
    }
}

/// An open bucket: a handle on one granted store.
pub struct Bucket {
    entries: Arc<Mutex<Entries>>,
}

/// A compare-and-swap in progress: the value `key` had when it started.
pub struct Cas {
    entries: Arc<Mutex<Entries>>,
    key: String,
    seen: Option<Vec<u8>>,
}

/// What a request's key-value calls see: the process's stores and the
/// request's resource table.
pub struct KeyValue<'a> {
    pub stores: &'a KeyValueStores,
    pub table: &'a mut ResourceTable,
}

/// Ties the generated `add_to_linker` functions to [`KeyValue`].
pub struct KeyValueData;

impl HasData for KeyValueData {
    type Data<'a> = KeyValue<'a>;
}

/// Every operation holds the lock for a few map operations and never across
/// a call into the guest, so a poisoned lock still guards consistent data.
fn lock(entries: &Mutex<Entries>) -> MutexGuard<'_, Entries> {
    entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl KeyValue<'_> {
    fn entries(&self, bucket: &Resource<Bucket>) -> wasmtime::Result<Arc<Mutex<Entries>>> {
        Ok(self.table.get(bucket)?.entries.clone())
    }
}

impl store::Host for KeyValue<'_> {
    fn open(&mut self, identifier: String) -> wasmtime::Result<Result<Resource<Bucket>, Error>> {
        let Some(entries) = self.stores.granted.get(&identifier) else {
            // Spin answers the same for a label spin.toml does not grant.
            return Ok(Err(Error::AccessDenied));
        };
        let bucket = Bucket { entries: entries.clone() };
        Ok(Ok(self.table.push(bucket)?))
    }
}

impl store::HostBucket for KeyValue<'_> {
    fn get(&mut self, bucket: Resource<Bucket>, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let entries = self.entries(&bucket)?;
        Ok(Ok(lock(&entries).get(&key).cloned()))
    }

    fn set(&mut self, bucket: Resource<Bucket>, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), Error>> {
        let entries = self.entries(&bucket)?;
        lock(&entries).insert(key, value);
        Ok(Ok(()))
    }

    fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> wasmtime::Result<Result<(), Error>> {
        let entries = self.entries(&bucket)?;
        lock(&entries).remove(&key);
        Ok(Ok(()))
    }

    fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> wasmtime::Result<Result<bool, Error>> {
        let entries = self.entries(&bucket)?;
        Ok(Ok(lock(&entries).contains_key(&key)))
    }

    fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        _cursor: Option<String>,
    ) -> wasmtime::Result<Result<KeyResponse, Error>> {
        let entries = self.entries(&bucket)?;
        let keys = lock(&entries).keys().cloned().collect();
        Ok(Ok(KeyResponse { keys, cursor: None }))
    }

    fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

/// Spin's SQLite store keeps a counter as an 8-byte little-endian integer;
/// so does this one, so that `get` after `increment` reads the same bytes.
fn add(value: Option<&Vec<u8>>, delta: i64) -> Result<i64, Error> {
    let current = match value {
        None => 0,
        Some(bytes) => {
            let bytes: [u8; 8] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| Error::Other("value is not a 64-bit counter".into()))?;
            i64::from_le_bytes(bytes)
        }
    };
    current
        .checked_add(delta)
        .ok_or_else(|| Error::Other("counter overflow".into()))
}

impl atomics::Host for KeyValue<'_> {
    fn increment(&mut self, bucket: Resource<Bucket>, key: String, delta: i64) -> wasmtime::Result<Result<i64, Error>> {
        let entries = self.entries(&bucket)?;
        let mut entries = lock(&entries);
        Ok(add(entries.get(&key), delta).inspect(|&sum| {
            entries.insert(key, sum.to_le_bytes().to_vec());
        }))
    }

    fn swap(&mut self, cas: Resource<Cas>, value: Vec<u8>) -> wasmtime::Result<Result<(), CasError>> {
        let Cas { entries, key, seen } = self.table.delete(cas)?;
        let mut guard = lock(&entries);
        let current = guard.get(&key).cloned();
        if current == seen {
            guard.insert(key, value);
            return Ok(Ok(()));
        }
        drop(guard);
        let retry = self.table.push(Cas { entries, key, seen: current })?;
        Ok(Err(CasError::CasFailed(retry)))
    }
}

impl atomics::HostCas for KeyValue<'_> {
    fn new(&mut self, bucket: Resource<Bucket>, key: String) -> wasmtime::Result<Result<Resource<Cas>, Error>> {
        let entries = self.entries(&bucket)?;
        let seen = lock(&entries).get(&key).cloned();
        Ok(Ok(self.table.push(Cas { entries, key, seen })?))
    }

    fn current(&mut self, cas: Resource<Cas>) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        Ok(Ok(self.table.get(&cas)?.seen.clone()))
    }

    fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_little_endian_i64() {
        assert_eq!(add(None, 5).unwrap(), 5);
        assert_eq!(add(Some(&7i64.to_le_bytes().to_vec()), 0).unwrap(), 7);
        assert_eq!(add(Some(&7i64.to_le_bytes().to_vec()), -2).unwrap(), 5);
        assert!(matches!(add(Some(&b"seven".to_vec()), 1), Err(Error::Other(_))));
        assert!(matches!(add(Some(&i64::MAX.to_le_bytes().to_vec()), 1), Err(Error::Other(_))));
    }
}
