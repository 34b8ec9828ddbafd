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
