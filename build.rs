//! The component's linear memory starts with its shadow stack, 1 MiB by
//! default in Rust's wasm targets. Spin's pooling allocator clears the part
//! of each instance's memory that it keeps resident (2 MiB by default,
//! `SPIN_WASMTIME_LINEAR_MEMORY_KEEP_RESIDENT`) after every request, with a
//! memset: a 1 MiB stack that a request uses a few KiB of costs a 1 MiB
//! memset per request. 64 KiB holds the deepest request the tests make
//! (docs/pod-cost.md).
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo::rustc-link-arg=-zstack-size=65536");
    }
}
