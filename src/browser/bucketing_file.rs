//! Getting the environment's bucketing file for `mode: "bucketing"`: from the page
//! (`initialBucketing`) or `GET {cdn}/{envId}/bucketing.json`, with `If-Modified-Since` so that
//! polling an unchanged file costs a 304 and no parsing.

use super::http::{self, SendError};
use crate::bucketing::{parse_bucketing, BucketingFile};
use crate::config::Config;
use crate::error::Error;

/// The outcome of one fetch.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// A new file, with the `Last-Modified` to send next time.
    Updated(BucketingFile, Option<String>),
    /// 304: the file held is current.
    NotModified,
    /// Nothing usable came back; the file held (if any) stays in use.
    Failed(Error),
}

/// The URL of the environment's file.
pub(crate) fn url(config: &Config) -> String {
    format!("{}/{}/bucketing.json", config.endpoints.cdn, config.env_id)
}

/// Fetches the file, conditionally on `last_modified`.
pub(crate) async fn fetch(config: &Config, last_modified: Option<&str>) -> Fetched {
    let headers: Vec<(&'static str, String)> = last_modified
        .map(|date| vec![("if-modified-since", date.to_owned())])
        .unwrap_or_default();
    match http::get(&url(config), &headers, config.timeout_ms).await {
        Ok(response) if response.status == 304 => Fetched::NotModified,
        Ok(response) if response.status == 200 => match parse_bucketing(&response.body) {
            Ok(file) => Fetched::Updated(file, response.last_modified),
            Err(error) => Fetched::Failed(error),
        },
        Ok(response) => Fetched::Failed(Error::BucketingFetch(format!("http {}", response.status))),
        Err(SendError::Timeout) => Fetched::Failed(Error::BucketingFetch("timed out".into())),
        Err(SendError::Network(message)) => Fetched::Failed(Error::BucketingFetch(message)),
    }
}
