//! A request as data: what the core builds and the browser shell (or a test, or the emulator's
//! tests) sends. Shared by decisions, activations, hits and the bucketing file, so that none of
//! them depends on another to describe a request.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::context::{SDK_CLIENT, SDK_VERSION};

/// The HTTP method of a [`Request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET` (the bucketing file).
    Get,
    /// `POST` (everything else).
    Post,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A request ready to be sent by whatever transport the caller has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET` or `POST`.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Header name/value pairs, names lower-case.
    pub headers: Vec<(&'static str, String)>,
    /// JSON body; empty for a `GET`.
    pub body: String,
    /// Whether the request may outlive the page (`fetch` with `keepalive`).
    pub keepalive: bool,
}

impl Request {
    /// A `POST` of the JSON `body` to `url` with `headers`.
    pub fn post(url: String, headers: Vec<(&'static str, String)>, body: String) -> Request {
        Request {
            method: Method::Post,
            url,
            headers,
            body,
            keepalive: false,
        }
    }
}

/// `request` as a loader reads it: `{url, method, headers, body, keepalive}`.
pub fn write_request(out: &mut String, request: &Request) {
    crate::json::ObjectWriter::new(out)
        .string("url", &request.url)
        .string("method", request.method.as_str())
        .with("headers", |out| {
            let mut headers = crate::json::ObjectWriter::new(out);
            for (name, value) in &request.headers {
                headers = headers.string(name, value);
            }
            headers.finish();
        })
        .string("body", &request.body)
        .bool("keepalive", request.keepalive)
        .finish();
}

/// Headers of every authenticated Decision API call.
pub fn api_headers(api_key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("x-api-key", api_key.to_owned()),
        ("x-sdk-client", SDK_CLIENT.to_owned()),
        ("x-sdk-version", SDK_VERSION.to_owned()),
        ("content-type", "application/json".to_owned()),
    ]
}

/// `base` followed by each of `parts`: URLs are built by concatenation, which keeps formatting
/// machinery out of the wasm.
pub fn join(base: &str, parts: &[&str]) -> String {
    let mut url = String::with_capacity(base.len() + parts.iter().map(|p| p.len()).sum::<usize>());
    url.push_str(base);
    for part in parts {
        url.push_str(part);
    }
    url
}

/// The longest wait a `Retry-After` is honoured for; a longer one is taken as this.
pub const MAX_RETRY_AFTER_MS: f64 = 60.0 * 60.0 * 1000.0;

/// The wait a `Retry-After` header asks for, in ms: delta-seconds only. An HTTP-date (or
/// anything else) is `None`, and the usual backoff applies.
pub fn parse_retry_after(value: &str) -> Option<f64> {
    let digits = value.trim();
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds = digits
        .bytes()
        .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
    Some((f64::from(seconds) * 1000.0).min(MAX_RETRY_AFTER_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_is_honoured_up_to_an_hour() {
        assert_eq!(parse_retry_after("120"), Some(120_000.0));
        assert_eq!(parse_retry_after(" 0 "), Some(0.0));
        assert_eq!(parse_retry_after("999999999"), Some(MAX_RETRY_AFTER_MS));
        for other in [
            "",
            "-1",
            "1.5",
            "Wed, 21 Oct 2026 07:28:00 GMT",
            "12a",
            "1234567890",
        ] {
            assert_eq!(parse_retry_after(other), None, "{other:?}");
        }
    }
}
