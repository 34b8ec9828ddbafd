//! The emulator's own endpoints under `/_emulator/`: the journal as JSON for the demo's live panel
//! and for tests, and a reset so each test starts from nothing. Kept off the API's paths so no
//! Flagship or Segment route can ever collide with them.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::http::json_response;
use super::state::Emulator;

/// `GET /_emulator/log`.
pub async fn log(State(emulator): State<Arc<Emulator>>) -> Response {
    let body = emulator.journal().to_json();
    json_response(StatusCode::OK, body)
}

/// `POST /_emulator/reset` → 204: forgets everything received, including the IDs Segment sent.
pub async fn reset(State(emulator): State<Arc<Emulator>>) -> Response {
    emulator.reset();
    StatusCode::NO_CONTENT.into_response()
}
