//! HTTP plumbing shared by every route: the API's error form, bounded body reading, CORS, and the
//! one-line-per-request log.
//!
//! Errors are answered as the Decision API does (`{"message": …}` with a 4xx/5xx status). The
//! reason also rides on the response as an extension, so the request logger — the one place that
//! sees every response — can print it and file it under `rejected` in `/_emulator/log`; handlers
//! never log by hand.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::state::Emulator;
use crate::json::{self, ObjectWriter, Value};

/// An error answered as `{"message": …}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong, for the caller.
    pub message: String,
}

impl ApiError {
    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// Any status with `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

/// The reason of an error response, read back by [`log_requests`].
#[derive(Debug, Clone)]
struct Reason(String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = String::new();
        ObjectWriter::new(&mut body)
            .string("message", &self.message)
            .finish();
        let mut response = json_response(self.status, body);
        response.extensions_mut().insert(Reason(self.message));
        response
    }
}

/// A JSON body with `status`.
pub fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

/// Reads the whole body as UTF-8, refusing more than `limit` bytes with 413 before buffering it
/// when `Content-Length` says so, and while reading otherwise (chunked uploads).
pub async fn read_text(headers: &HeaderMap, body: Body, limit: usize) -> Result<String, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body larger than {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    // A read error is either the limit or a client that went away; only the first gets to
    // read the answer.
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::bad_request("body is not UTF-8"))
}

/// Reads the body as a JSON document with [`read_text`] and `crate::json` (any content type:
/// browsers' `sendBeacon` and analytics-next send `text/plain`).
pub async fn read_json(headers: &HeaderMap, body: Body, limit: usize) -> Result<Value, ApiError> {
    let text = read_text(headers, body, limit).await?;
    json::parse(&text).map_err(|e| ApiError::bad_request(format!("body is not JSON: {}", e.0)))
}

/// The value of `name` in the query string, undecoded (only flags like `exposeAllKeys` are read).
pub fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// CORS for pages on any origin: the module runs on the demo page, on test runners' own ports
/// and on real sites pointed at this emulator. The origin is mirrored rather than `*` so that a
/// credentialed request would also pass.
pub fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            HeaderName::from_static("x-api-key"),
            HeaderName::from_static("x-sdk-client"),
            HeaderName::from_static("x-sdk-version"),
            header::CONTENT_TYPE,
        ])
        .expose_headers([header::LAST_MODIFIED])
        .allow_private_network(true)
        .max_age(Duration::from_secs(600))
}

/// Logs one line per request to stderr, files error answers under `rejected`, and marks every
/// answer `no-cache` unless a route chose otherwise (the demo reloads files as they are rebuilt).
pub async fn log_requests(
    State(emulator): State<Arc<Emulator>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let status = response.status();
    let reason = response.extensions().get::<Reason>().map(|r| r.0.clone());
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache"));
    {
        let mut journal = emulator.journal();
        journal.count("requests");
        if let Some(reason) = &reason {
            journal.reject(method.as_str(), &path, status.as_u16(), reason);
        }
    }
    eprintln!(
        "{method} {path} {} {}ms{}",
        status.as_u16(),
        started.elapsed().as_millis(),
        reason.map(|r| format!(" ({r})")).unwrap_or_default()
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params() {
        let q = Some("a=1&exposeAllKeys=true&flag");
        assert_eq!(query_param(q, "exposeAllKeys"), Some("true"));
        assert_eq!(query_param(q, "flag"), Some(""));
        assert_eq!(query_param(q, "missing"), None);
        assert_eq!(query_param(None, "a"), None);
    }
}
