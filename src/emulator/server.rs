//! The router: every endpoint on one port, so a page, its module and analytics-next need one
//! origin. Route order does not matter in axum; what is not an API path falls through to `www/`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

use super::state::Emulator;
use super::{activate, admin, cdn, collector, decision, http, segment, static_files};

/// Every route, with CORS and the request log around them.
pub fn router(emulator: Arc<Emulator>) -> Router {
    let options = &emulator.options;
    let www = static_files::dir(&options.www);
    let routes = Router::new()
        .route("/v2/{env_id}/campaigns", post(decision::campaigns))
        .route("/v2/{env_id}/flags", post(decision::flags))
        .route("/v2/activate", post(activate::activate))
        .route("/", post(collector::collect).get_service(www.clone()))
        .route("/events", post(collector::collect))
        .route("/{env_id}/bucketing.json", get(cdn::bucketing_file))
        .route("/v1/projects/{write_key}/settings", get(segment::settings))
        .route("/v1/{call}", post(segment::receive))
        .route("/_emulator/log", get(admin::log))
        .route("/_emulator/reset", post(admin::reset));
    static_files::mount(routes, &options.pkg, &options.vendor)
        .fallback_service(www)
        .layer(http::cors())
        .layer(middleware::from_fn_with_state(
            emulator.clone(),
            http::log_requests,
        ))
        .with_state(emulator)
}

/// Serves `emulator` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    emulator: Arc<Emulator>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(emulator))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `addr`; port 0 picks a free port (read it back from the listener).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
