//! A Segment-shaped endpoint: analytics-next pointed at it (`apiHost: '127.0.0.1:PORT/v1'`,
//! `protocol: 'http'`, or `cdnURL` at this server) delivers its calls here, and every userId and
//! anonymousId it carries becomes an ID "Segment has seen" for the connector.
//!
//! analytics-next posts `text/plain` bodies to `/v1/{i,t,p,g,a,s}` and batches to `/v1/b`; the
//! long names (`/v1/identify`, …) of Segment's HTTP API are accepted too. Like Segment's API, a
//! message needs a userId or an anonymousId; anything else about it is recorded, not judged.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;

use super::http::{json_response, read_json, ApiError};
use super::journal::{obj, opt};
use super::state::Emulator;
use crate::json::{ObjectWriter, Value};

/// Most messages accepted in one `/v1/b` batch.
pub const MAX_BATCH: usize = 1000;

/// The call type a path names (`i` → `identify`); `None` for an unknown path.
pub fn call_type(segment: &str) -> Option<&'static str> {
    Some(match segment {
        "i" | "identify" => "identify",
        "t" | "track" => "track",
        "p" | "page" => "page",
        "s" | "screen" => "screen",
        "g" | "group" => "group",
        "a" | "alias" => "alias",
        "b" | "batch" => "batch",
        "m" => "metrics",
        _ => return None,
    })
}

/// The IDs of one message: (userId, anonymousId, previousId), each a non-empty string or absent.
pub fn message_ids(message: &Value) -> Result<[Option<&str>; 3], &'static str> {
    let id = |key: &str| match message.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err("userId, anonymousId and previousId must be strings"),
    };
    let ids = [id("userId")?, id("anonymousId")?, id("previousId")?];
    if ids[0].is_none() && ids[1].is_none() {
        return Err("a message needs a userId or an anonymousId");
    }
    Ok(ids)
}

/// `POST /v1/{call}` → `{"success": true}`.
pub async fn receive(
    State(emulator): State<Arc<Emulator>>,
    Path(call): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let Some(kind) = call_type(&call) else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "unknown Segment call"));
    };
    let (parts, body) = request.into_parts();
    let raw = read_json(&parts.headers, body, emulator.options.max_body).await?;
    if kind == "metrics" {
        // analytics-next's own telemetry: accepted so the page's console stays clean.
        return Ok(success());
    }
    let messages: Vec<(&str, &Value)> = if kind == "batch" {
        let list = raw
            .get("batch")
            .and_then(Value::as_array)
            .ok_or(ApiError::bad_request("batch is missing or not an array"))?;
        if list.len() > MAX_BATCH {
            return Err(ApiError::bad_request("more than 1000 messages in batch"));
        }
        list.iter()
            .map(|m| {
                (
                    m.get("type").and_then(Value::as_str).unwrap_or("unknown"),
                    m,
                )
            })
            .collect()
    } else {
        vec![(kind, &raw)]
    };
    // Validate everything before recording anything: a refused batch leaves no trace.
    let mut checked = Vec::with_capacity(messages.len());
    for (i, (kind, message)) in messages.iter().enumerate() {
        let ids = message_ids(message)
            .map_err(|reason| ApiError::bad_request(format!("message {i}: {reason}")))?;
        checked.push((*kind, *message, ids));
    }
    let mut journal = emulator.journal();
    for (kind, message, [user_id, anonymous_id, previous_id]) in checked {
        let text = |key: &str| opt(message.get(key).and_then(Value::as_str));
        let entry = obj(vec![
            ("type", kind.into()),
            ("userId", opt(user_id)),
            ("anonymousId", opt(anonymous_id)),
            ("previousId", opt(previous_id)),
            ("event", text("event")),
            ("name", text("name")),
            (
                "properties",
                message.get("properties").cloned().unwrap_or_default(),
            ),
            ("traits", message.get("traits").cloned().unwrap_or_default()),
        ]);
        journal.segment_call(user_id, anonymous_id, previous_id, entry);
    }
    Ok(success())
}

fn success() -> Response {
    json_response(StatusCode::OK, r#"{"success":true}"#.to_owned())
}

/// `GET /v1/projects/{writeKey}/settings`: CDN settings that send analytics-next's calls back to
/// this server (the host it was reached on), with no device-mode destination to wait for and
/// no telemetry.
pub async fn settings(Path(write_key): Path<String>, headers: HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8787");
    json_response(StatusCode::OK, write_settings(&write_key, host))
}

/// The settings document for `write_key`, pointing at `host`.
pub fn write_settings(write_key: &str, host: &str) -> String {
    let api_host = format!("{host}/v1");
    let mut out = String::new();
    ObjectWriter::new(&mut out)
        .with("integrations", |out| {
            ObjectWriter::new(out)
                .with("Segment.io", |out| {
                    ObjectWriter::new(out)
                        .string("apiKey", write_key)
                        .string("apiHost", &api_host)
                        .string("protocol", "http")
                        .with("unbundledIntegrations", |o| o.push_str("[]"))
                        .bool("addBundledMetadata", true)
                        .with("maybeBundledConfigIds", |o| o.push_str("{}"))
                        .finish();
                })
                .finish();
        })
        .with("plan", |out| {
            out.push_str(r#"{"track":{"__default":{"enabled":true,"integrations":{}}},"#);
            out.push_str(r#""identify":{"__default":{"enabled":true}},"#);
            out.push_str(r#""group":{"__default":{"enabled":true}}}"#);
        })
        .with("edgeFunction", |o| o.push_str("{}"))
        .bool("analyticsNextEnabled", true)
        .with("middlewareSettings", |o| o.push_str("{}"))
        .with("enabledMiddleware", |o| o.push_str("{}"))
        .with("metrics", |o| o.push_str(r#"{"sampleRate":0}"#))
        .with("remotePlugins", |o| o.push_str("[]"))
        .finish();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    #[test]
    fn short_and_long_paths() {
        assert_eq!(call_type("i"), Some("identify"));
        assert_eq!(call_type("track"), Some("track"));
        assert_eq!(call_type("b"), Some("batch"));
        assert_eq!(call_type("x"), None);
    }

    #[test]
    fn a_message_needs_an_id() {
        let ids =
            |t: &str| message_ids(&parse(t).unwrap()).map(|ids| ids.map(|i| i.map(str::to_owned)));
        assert_eq!(
            ids(r#"{"userId":"U","anonymousId":"A"}"#),
            Ok([Some("U".into()), Some("A".into()), None])
        );
        assert_eq!(
            ids(r#"{"userId":null,"anonymousId":""}"#),
            Err("a message needs a userId or an anonymousId")
        );
        assert_eq!(
            ids(r#"{"anonymousId":5}"#),
            Err("userId, anonymousId and previousId must be strings")
        );
    }

    #[test]
    fn settings_point_back_here() {
        let s = parse(&write_settings("wk", "127.0.0.1:9999")).unwrap();
        let io = s
            .get("integrations")
            .and_then(|i| i.get("Segment.io"))
            .unwrap();
        assert_eq!(io.get("apiHost"), Some(&Value::from("127.0.0.1:9999/v1")));
        assert_eq!(io.get("apiKey"), Some(&Value::from("wk")));
        assert_eq!(io.get("protocol"), Some(&Value::from("http")));
    }
}
