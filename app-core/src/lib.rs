//! The KEDA demo app independent of where it runs. The Spin component keeps
//! its counts in Spin's key-value store, the native baseline in process
//! atomics; both implement [`Platform`] and answer requests through
//! [`routes::handle`], which exposes the counts through prometheus-client.

mod exposition;
mod negotiation;
mod observations;
pub mod routes;

pub use exposition::Format;
pub use observations::{BUCKET_UPPER_BOUNDS_SECONDS, BUCKETS, Observations, bucket_index, micros};
pub use routes::{CounterStore, Platform};
