//! Host bindings for the Spin interfaces in `wit/`. wasi:cli and wasi:http
//! come from wasmtime-wasi and wasmtime-wasi-http.

wasmtime::component::bindgen!({
    path: "wit",
    world: "spin-host",
    imports: { default: trappable },
    with: {
        "wasi:keyvalue/store.bucket": crate::keyvalue::Bucket,
        "wasi:keyvalue/atomics.cas": crate::keyvalue::Cas,
    },
});
