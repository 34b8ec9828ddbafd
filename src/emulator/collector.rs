//! The events collector (`POST /` and `POST /events`): hits validated by the crate's own hit model
//! ([`crate::tracking::hits`]), so the emulator refuses exactly what the module is built never to
//! send. Each hit is recorded with its raw keys and handed to the connector.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::decision::check_env;
use super::http::{read_json, ApiError};
use super::state::Emulator;
use crate::json::Value;
use crate::tracking::hits::{parse_hits, HitError};

/// The 400 message for a refused body: `"h[2]: ea is required"` inside a batch.
pub fn describe(error: HitError) -> String {
    match error.index {
        Some(i) => format!("h[{i}]: {}", error.reason),
        None => error.reason.to_owned(),
    }
}

/// `POST /` and `POST /events` → 200 (empty body), or 400 naming the first problem.
pub async fn collect(
    State(emulator): State<Arc<Emulator>>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let raw = read_json(&parts.headers, body, emulator.options.max_body).await?;
    let batch = parse_hits(&raw).map_err(|e| ApiError::bad_request(describe(e)))?;
    check_env(&emulator, &batch.env_id)?;
    let raw_hits: Vec<&Value> = match raw.get("h").and_then(Value::as_array) {
        Some(list) if raw.get("t").and_then(Value::as_str) == Some("BATCH") => {
            list.iter().collect()
        }
        _ => vec![&raw],
    };
    let mut journal = emulator.journal();
    for (hit, raw) in batch.hits.iter().zip(raw_hits) {
        journal.hit(&batch.env_id, hit, raw);
    }
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_locate_the_hit() {
        let at = HitError {
            index: Some(2),
            reason: "ea is required",
        };
        assert_eq!(describe(at), "h[2]: ea is required");
        let top = HitError {
            index: None,
            reason: "body is not JSON",
        };
        assert_eq!(describe(top), "body is not JSON");
    }
}
