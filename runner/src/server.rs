//! The host embedding, in the shape of `wasmtime serve`: one engine, one
//! linker, one pre-instantiated component, and a fresh instance for every
//! request, as Spin gives every request.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Cache, CacheConfig, Config, Engine, Memory, MemoryType, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::fermyon::spin::variables;
use crate::bindings::wasi::keyvalue::{atomics, store};
use crate::keyvalue::{KeyValue, KeyValueData, KeyValueStores};
use crate::manifest::Application;
use crate::outbound::NoOutboundHttp;
use crate::variables::{Variables, VariablesData};

/// Instances alive at once by default: one per request in flight, as in
/// Spin (`SPIN_WASMTIME_INSTANCE_COUNT`, 1,000).
pub const DEFAULT_MAX_INSTANCES: u32 = 1_000;
/// What a client is told to wait before it tries again when every instance
/// is busy.
const RETRY_AFTER_SECONDS: &str = "1";
/// How long in-flight requests may take to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// What one request's instance owns.
pub struct RequestState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    outbound: NoOutboundHttp,
    shared: Arc<Shared>,
}

/// What every request shares: the process's key-value stores and the
/// resolved variables.
struct Shared {
    stores: KeyValueStores,
    variables: Variables,
}

impl WasiView for RequestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for RequestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.outbound }
    }
}

pub struct Runner {
    app: Application,
    pre: ProxyPre<RequestState>,
    shared: Arc<Shared>,
    /// One permit per instance the pooling allocator has room for: a request
    /// that gets none is answered 503 before anything is instantiated.
    instances: Arc<tokio::sync::Semaphore>,
}

/// An engine with the pooling allocator where the machine's address space
/// allows it, so that instantiation reuses pre-reserved memory for up to
/// `max_instances` at once, and a compilation cache, so that a restart does
/// not compile the component again.
pub fn engine(cache_dir: Option<&Path>, max_instances: u32) -> Result<Engine> {
    // A component instance holds several core instances and tables (the
    // component's own module and its adapters): the factors are Spin's
    // (crates/core/src/lib.rs at v3.6.3), so that the component-instance
    // count is the limit that binds, as in Spin.
    let mut pooling = PoolingAllocationConfig::default();
    pooling.total_component_instances(max_instances);
    pooling.total_core_instances(4 * max_instances);
    pooling.total_memories(max_instances);
    pooling.total_tables(2 * max_instances);
    pooling.total_stacks(max_instances);

    let mut cache = CacheConfig::new();
    if let Some(directory) = cache_dir {
        cache.with_directory(directory);
    }

    let mut config = Config::new();
    if address_space_allows_pooling() {
        tracing::info!("instance allocation: pooling, {max_instances} instances reserved");
        config.allocation_strategy(pooling);
    } else {
        // On demand, each memory still reserves 4 GiB by default, so that
        // guard pages replace bounds checks, and 2 GiB more to grow into:
        // too much for the same small address space at a few instances at
        // once. Reserve what a memory uses, with explicit bounds checks, and
        // move it when it grows.
        tracing::warn!("instance allocation: on demand; the address space is too small to reserve the pool");
        config.memory_reservation(0);
        config.memory_reservation_for_growth(0);
    }
    config.cache(Some(Cache::new(cache)?));
    Ok(Engine::new(&config)?)
}

/// The pool reserves address space for every instance's memory up front,
/// terabytes for a thousand instances, which a 39-bit address space (some
/// arm64 kernels) or a `ulimit -v` refuses. `wasmtime serve` checks first
/// (src/commands/serve.rs, `use_pooling_allocator_by_default`): it reserves
/// 2^42 bytes for one 64-bit memory and pools only if that works. So does
/// the runner; on demand, the instance limit still holds (`Runner::instances`).
fn address_space_allows_pooling() -> bool {
    const BITS: u32 = 42;
    let mut config = Config::new();
    config.wasm_memory64(true);
    config.memory_reservation(1 << BITS);
    let Ok(engine) = Engine::new(&config) else { return false };
    let mut store = Store::new(&engine, ());
    // The maximum is in 64 KiB wasm pages.
    Memory::new(&mut store, MemoryType::new64(0, Some(1 << (BITS - 16)))).is_ok()
}

impl Runner {
    pub fn new(engine: &Engine, app: Application, variables: Variables, max_instances: u32) -> Result<Self> {
        let component = Component::from_file(engine, &app.source)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot load component {}", app.source.display()))?;
        let linker = linker(engine)?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(ProxyPre::new)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("component {} cannot run here", app.component_id))?;
        let shared = Arc::new(Shared { stores: KeyValueStores::new(&app.key_value_stores), variables });
        let instances = Arc::new(tokio::sync::Semaphore::new(max_instances as usize));
        Ok(Self { app, pre, shared, instances })
    }

    /// Serve until `shutdown` resolves, then let in-flight requests finish.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: impl Future<Output = ()>) -> Result<()> {
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!("accept failed: {error}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let runner = self.clone();
            let service = service_fn(move |request| runner.clone().handle(request));
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!("connection from {peer}: {error}");
                }
            });
        }
        drop(listener);
        tracing::info!("shutting down: draining in-flight requests");
        tokio::select! {
            () = graceful.shutdown() => Ok(()),
            () = tokio::time::sleep(DRAIN_TIMEOUT) => Err(anyhow!("requests still running after {DRAIN_TIMEOUT:?}")),
        }
    }

    /// Answer one request. Every failure becomes a status code: an error
    /// returned to hyper would close the connection without an answer.
    async fn handle(self: Arc<Self>, request: Request<Incoming>) -> Result<Response<HyperOutgoingBody>, Infallible> {
        let started = Instant::now();
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let response = if !self.app.route_matches(&path) {
            plain(StatusCode::NOT_FOUND, "Not Found\n")
        } else if let Ok(slot) = self.instances.clone().try_acquire_owned() {
            self.call_component(request, slot).await.unwrap_or_else(|error| {
                tracing::error!("{method} {path}: {error:#}");
                plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error: the component failed\n")
            })
        } else {
            // Past capacity: "try elsewhere or later", which a load balancer
            // and a client act on, where a 500 reads as a bug.
            let mut response = plain(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable: every instance is busy\n");
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from_static(RETRY_AFTER_SECONDS));
            response
        };
        tracing::info!(
            "{method} {} {} {:.3}ms",
            loggable(&path),
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1e3
        );
        Ok(response)
    }

    /// Runs the component on one instance; `slot` is its place in the
    /// pool, held until the instance is gone.
    async fn call_component(
        &self,
        request: Request<Incoming>,
        slot: tokio::sync::OwnedSemaphorePermit,
    ) -> Result<Response<HyperOutgoingBody>> {
        let state = RequestState {
            wasi: WasiCtx::builder().inherit_stdout().inherit_stderr().build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            outbound: NoOutboundHttp,
            shared: self.shared.clone(),
        };
        let mut store = Store::new(self.pre.engine(), state);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let incoming = store.data_mut().http().new_incoming_request(Scheme::Http, request)?;
        let outparam = store.data_mut().http().new_response_outparam(sender)?;
        let pre = self.pre.clone();

        // The instance runs in its own task: it may still be streaming the
        // body after the response head has gone out.
        let instance = tokio::spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            let handled = proxy.wasi_http_incoming_handler().call_handle(&mut store, incoming, outparam).await;
            // The pool's slot is free once the store is.
            drop(store);
            drop(slot);
            handled
        });

        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(code)) => Err(anyhow!("the component answered with an error: {code:?}")),
            // The component dropped the response without setting it: it
            // trapped or returned early; the task says which.
            Err(_) => match instance.await {
                Ok(Ok(())) => Err(anyhow!("the component returned without answering")),
                Ok(Err(error)) => Err(anyhow::Error::from(error).context("the component trapped")),
                Err(join_error) => Err(anyhow!("the instance task failed: {join_error}")),
            },
        }
    }
}

fn linker(engine: &Engine) -> Result<Linker<RequestState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    fn key_value(state: &mut RequestState) -> KeyValue<'_> {
        KeyValue { stores: &state.shared.stores, table: &mut state.table }
    }
    store::add_to_linker::<_, KeyValueData>(&mut linker, key_value)?;
    atomics::add_to_linker::<_, KeyValueData>(&mut linker, key_value)?;
    variables::add_to_linker::<_, VariablesData>(&mut linker, |state| &state.shared.variables)?;
    Ok(linker)
}

/// A path as it goes into one log line: a hostile client may send a path of
/// hundreds of kilobytes.
fn loggable(path: &str) -> std::borrow::Cow<'_, str> {
    const MAX: usize = 200;
    match path.char_indices().nth(MAX) {
        None => path.into(),
        Some((end, _)) => format!("{}...({} bytes)", &path[..end], path.len()).into(),
    }
}

fn plain(status: StatusCode, body: &'static str) -> Response<HyperOutgoingBody> {
    let body = http_body_util::Full::new(bytes::Bytes::from_static(body.as_bytes()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// The address the runner actually listens on, with its URLs.
pub fn announce(app: &Application, address: SocketAddr) {
    println!("Serving http://{address}");
    println!("Available Routes:");
    let wildcard = if app.route.ends_with("/...") { " (wildcard)" } else { "" };
    let route = app.route.trim_end_matches("/...");
    println!("  {}: http://{address}{route}{wildcard}", app.component_id);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our WIT is written from Spin's interface signatures; the linker's type
    /// check against the built component is what proves it matches.
    #[test]
    fn our_wit_matches_the_components_imports() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spin.toml");
        let app = Application::load(&manifest).unwrap();
        crate::builder::ensure_built(&app).unwrap();
        let engine = engine(None, DEFAULT_MAX_INSTANCES).unwrap();
        let component = Component::from_file(&engine, &app.source).unwrap();
        let imports: Vec<String> = component
            .component_type()
            .imports(&engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        for ours in [
            "wasi:keyvalue/store@0.2.0-draft2",
            "wasi:keyvalue/atomics@0.2.0-draft2",
            "fermyon:spin/variables@2.0.0",
        ] {
            assert!(imports.iter().any(|import| import == ours), "{ours} not in {imports:?}");
        }
        let pre = linker(&engine).unwrap().instantiate_pre(&component);
        assert!(pre.is_ok(), "{:?}", pre.err());
    }
}
