# The app as a plain OCI image for containerd-shim-spin: spin.toml at the root
# and the component at the path its `source` names. Build the component first:
#   cargo build --target wasm32-wasip2 --profile wasm-release --target-dir target -p keda-spin-autoscaling
FROM scratch
COPY spin.toml /spin.toml
COPY target/wasm32-wasip2/wasm-release/keda_spin_autoscaling.wasm /target/wasm32-wasip2/wasm-release/keda_spin_autoscaling.wasm
ENTRYPOINT ["/"]
