//! The request metrics of the KEDA demo, shared by the Spin component and the
//! native baseline.
//!
//! Storage is the caller's business: the component keeps raw counts in Spin's
//! key-value store, the baseline in process atomics. Both hand an
//! [`Observations`] snapshot to [`Observations::encode`], which builds the
//! families the Python demo exposes and lets prometheus-client write them.

mod exposition;
mod negotiation;
mod observations;

pub use exposition::Format;
pub use observations::{BUCKET_UPPER_BOUNDS_SECONDS, BUCKETS, Observations, bucket_index, micros};
