//! Static files: the demo (`www/` at `/`), the built package (`pkg/` at `/pkg/`) and
//! analytics-next's UMD build (at `/vendor/analytics-next/`, when installed), so one origin
//! serves the page, the module and every API it calls — no CORS in the demo, nothing from a CDN.

use std::path::Path;

use axum::Router;
use tower_http::services::ServeDir;

/// A directory service; `index.html` answers for directories.
pub fn dir(path: &Path) -> ServeDir {
    ServeDir::new(path)
}

/// Mounts `/pkg/` and `/vendor/analytics-next/` on `router`. The vendor directory is optional:
/// it is mounted only if it exists at start, since the demo may vendor a copy into `www/` instead.
pub fn mount<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    pkg: &Path,
    vendor: &Path,
) -> Router<S> {
    let router = router.nest_service("/pkg", dir(pkg));
    if vendor.is_dir() {
        router.nest_service("/vendor/analytics-next", dir(vendor))
    } else {
        router
    }
}
