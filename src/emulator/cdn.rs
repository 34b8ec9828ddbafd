//! `GET /{envId}/bucketing.json`, the CDN's copy of the environment, with `Last-Modified` and a
//! 304 for `If-Modified-Since`, so the module's polling can be tested for both answers. The file's
//! modification time is the version: touching it is how a test publishes a new one.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::decision::check_env;
use super::http::ApiError;
use super::state::Emulator;

/// True when the copy the client holds (`If-Modified-Since`) is as new as `modified`. HTTP dates
/// have whole seconds, so the comparison drops sub-second precision.
pub fn not_modified(if_modified_since: Option<&str>, modified: SystemTime) -> bool {
    let Some(since) = if_modified_since.and_then(|v| httpdate::parse_http_date(v).ok()) else {
        return false;
    };
    whole_seconds(modified) <= since
}

fn whole_seconds(time: SystemTime) -> SystemTime {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// `GET /{envId}/bucketing.json`.
pub async fn bucketing_file(
    State(emulator): State<Arc<Emulator>>,
    Path(env_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_env(&emulator, &env_id)?;
    let loaded = emulator.bucketing().await;
    let last_modified = httpdate::fmt_http_date(whole_seconds(loaded.modified));
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok());
    emulator.journal().count("bucketing");
    if not_modified(since, loaded.modified) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::LAST_MODIFIED, last_modified)],
        )
            .into_response());
    }
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::LAST_MODIFIED, last_modified),
        ],
        Body::from(loaded.text.clone()),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_modified_since() {
        let modified = UNIX_EPOCH + Duration::from_millis(1_700_000_000_500);
        let same = httpdate::fmt_http_date(whole_seconds(modified));
        assert!(not_modified(Some(&same), modified));
        let earlier = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(1_699_999_999));
        assert!(!not_modified(Some(&earlier), modified));
        assert!(!not_modified(Some("yesterday"), modified));
        assert!(!not_modified(None, modified));
    }
}
