//! `POST /v2/activate`: exposures, validated against contract §4, recorded, and handed to the
//! connector. Both the batch form (`{"cid", "batch": [...]}`) and the legacy single form (one
//! item's keys beside `cid`) are accepted, as on the server; a bad item refuses the whole body so
//! the module's bug is seen rather than half-counted.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::decision::check_env;
use super::http::{read_json, ApiError};
use super::journal::ActivationItem;
use super::state::Emulator;
use crate::json::{Object, Value};

/// Most items accepted in one batch; the module sends a handful.
pub const MAX_ITEMS: usize = 1000;

/// A validated activate body.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivateBody {
    /// `cid`.
    pub env_id: String,
    /// The items, in order.
    pub items: Vec<ActivationItem>,
}

fn parse_item(object: &Object) -> Result<ActivationItem, &'static str> {
    Ok(ActivationItem {
        vid: object
            .required_str("vid", "vid is missing or not a non-empty string")?
            .to_owned(),
        aid: match object.get("aid") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(_) => return Err("aid is not a non-empty string or null"),
        },
        caid: object
            .required_str("caid", "caid (variation group id) is missing")?
            .to_owned(),
        vaid: object
            .required_str("vaid", "vaid (variation id) is missing")?
            .to_owned(),
        qt: match object.get("qt") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if *n >= 0.0 => Some(*n),
            Some(_) => return Err("qt is not a number >= 0"),
        },
    })
}

/// Validates an activate body; the error names the item at fault.
pub fn parse_activate(body: &Value) -> Result<ActivateBody, String> {
    let top = body.as_object().ok_or("body is not a JSON object")?;
    let env_id = top
        .required_str("cid", "cid is missing or not a non-empty string")?
        .to_owned();
    let items = match top.get("batch") {
        None => vec![parse_item(top)?],
        Some(Value::Array(list)) if list.is_empty() => return Err("batch is empty".into()),
        Some(Value::Array(list)) if list.len() > MAX_ITEMS => {
            return Err("more than 1000 items in batch".into())
        }
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, item)| {
                item.as_object()
                    .ok_or("an item is not an object")
                    .and_then(parse_item)
                    .map_err(|reason| format!("batch[{i}]: {reason}"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("batch is not an array".into()),
    };
    Ok(ActivateBody { env_id, items })
}

/// `POST /v2/activate` → 204.
pub async fn activate(
    State(emulator): State<Arc<Emulator>>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let raw = read_json(&parts.headers, body, emulator.options.max_body).await?;
    let body = parse_activate(&raw).map_err(ApiError::bad_request)?;
    check_env(&emulator, &body.env_id)?;
    let loaded = emulator.bucketing().await;
    let mut journal = emulator.journal();
    for item in &body.items {
        journal.activation(&body.env_id, item, "activate", &loaded.catalog);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn check(text: &str) -> Result<ActivateBody, String> {
        parse_activate(&parse(text).unwrap())
    }

    #[test]
    fn batch_and_single_forms() {
        let batch = check(
            r#"{"cid":"e","batch":[{"vid":"U","aid":"A","caid":"g","vaid":"v","qt":5},
                                   {"vid":"A","aid":null,"caid":"g","vaid":"v"}]}"#,
        )
        .unwrap();
        assert_eq!(batch.items.len(), 2);
        assert_eq!(batch.items[0].aid.as_deref(), Some("A"));
        assert_eq!(
            (batch.items[1].aid.as_ref(), batch.items[1].qt),
            (None, None)
        );
        let single = check(r#"{"cid":"e","vid":"A","caid":"g","vaid":"v"}"#).unwrap();
        assert_eq!(single.items[0].vid, "A");
    }

    #[test]
    fn reasons_name_the_item() {
        for (body, reason) in [
            (
                r#"{"batch":[]}"#,
                "cid is missing or not a non-empty string",
            ),
            (r#"{"cid":"e","batch":[]}"#, "batch is empty"),
            (r#"{"cid":"e","batch":{}}"#, "batch is not an array"),
            (
                r#"{"cid":"e","batch":[{"vid":"A","caid":"g","vaid":"v"},{"vid":"A","vaid":"v"}]}"#,
                "batch[1]: caid (variation group id) is missing",
            ),
            (
                r#"{"cid":"e","batch":[{"vid":"A","caid":"g","vaid":"v","qt":-1}]}"#,
                "batch[0]: qt is not a number >= 0",
            ),
            (
                r#"{"cid":"e","batch":[{"vid":"A","aid":"","caid":"g","vaid":"v"}]}"#,
                "batch[0]: aid is not a non-empty string or null",
            ),
            (
                r#"{"cid":"e","batch":[7]}"#,
                "batch[0]: an item is not an object",
            ),
            (
                r#"{"cid":"e","caid":"g","vaid":"v"}"#,
                "vid is missing or not a non-empty string",
            ),
        ] {
            assert_eq!(check(body), Err(reason.to_owned()), "{body}");
        }
    }
}
