//! Reading collector bodies: the BATCH and single forms, refused whole at the first bad hit.

use super::{
    EventCategory, EventHit, Hit, HitError, HitKind, ItemHit, TransactionHit, MAX_BODY_BYTES,
};
use crate::json::{self, Object, Value};
use alloc::{borrow::ToOwned, string::String, vec, vec::Vec};

/// A collector body after parsing: the environment and its hits, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct HitBatch {
    /// `cid`.
    pub env_id: String,
    /// One hit for the single form, the `h` list for BATCH.
    pub hits: Vec<Hit>,
}

/// Most hits accepted in one BATCH; the browser flushes at 10, so this only bounds hostile input.
pub const MAX_BATCH_HITS: usize = 1000;

/// Parses and validates a collector body text (size-limited, then [`parse_hits`]).
pub fn parse_hits_text(body: &str) -> Result<HitBatch, HitError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(HitError::new("body larger than 1 MiB"));
    }
    let value = json::parse(body).map_err(|_| HitError::new("body is not JSON"))?;
    parse_hits(&value)
}

/// Parses and validates a collector body: the BATCH form (`t: "BATCH"`, hits in `h`) or the
/// single form (one hit object carrying its own `cid`). The whole body is refused at the first
/// bad hit, as a partial accept would hide the bug that produced it.
pub fn parse_hits(value: &Value) -> Result<HitBatch, HitError> {
    let top = value
        .as_object()
        .ok_or(HitError::new("body is not a JSON object"))?;
    let env_id = match top.get("cid") {
        Some(Value::String(cid)) if !cid.is_empty() => cid.clone(),
        _ => return Err(HitError::new("cid is missing or not a non-empty string")),
    };
    if top.str("t") != Some("BATCH") {
        let hit = parse_hit(top).map_err(HitError::new)?;
        return Ok(HitBatch {
            env_id,
            hits: vec![hit],
        });
    }
    let list = match top.get("h") {
        Some(Value::Array(list)) => list,
        _ => return Err(HitError::new("h is missing or not an array")),
    };
    if list.len() > MAX_BATCH_HITS {
        return Err(HitError::new("more than 1000 hits in a batch"));
    }
    let hits = list
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let hit = item
                .as_object()
                .ok_or("a hit is not an object")
                .and_then(parse_hit);
            hit.map_err(|reason| HitError {
                index: Some(index),
                reason,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(HitBatch { env_id, hits })
}

/// Reads one hit object, then applies [`Hit::validate`].
pub fn parse_hit(object: &Object) -> Result<Hit, &'static str> {
    let kind = match object.get("t") {
        Some(Value::String(t)) => match t.as_str() {
            "EVENT" => HitKind::Event(EventHit {
                category: EventCategory::parse(object.required_str("ec", "ec is required")?)
                    .ok_or("ec is not \"Action Tracking\" or \"User Engagement\"")?,
                action: object.required_str("ea", "ea is required")?.to_owned(),
                label: opt_string(object, "el", "el is not a string")?,
                value: opt_number(object, "ev", "ev is not an integer >= 0")?,
            }),
            "TRANSACTION" => HitKind::Transaction(TransactionHit {
                id: object.required_str("tid", "tid is required")?.to_owned(),
                affiliation: object.required_str("ta", "ta is required")?.to_owned(),
                revenue: opt_number(object, "tr", "tr is not a number")?,
                tax: opt_number(object, "tt", "tt is not a number")?,
                shipping: opt_number(object, "ts", "ts is not a number")?,
                currency: opt_string(object, "tc", "tc is not a 3-letter currency code")?,
                coupon: opt_string(object, "tcc", "tcc is not a string")?,
                item_count: opt_number(object, "icn", "icn is not an integer >= 0")?,
                shipping_method: opt_string(object, "sm", "sm is not a string")?,
                payment_method: opt_string(object, "pm", "pm is not a string")?,
            }),
            "ITEM" => HitKind::Item(ItemHit {
                transaction_id: object.required_str("tid", "tid is required")?.to_owned(),
                name: object.required_str("in", "in is required")?.to_owned(),
                code: object.required_str("ic", "ic is required")?.to_owned(),
                price: opt_number(object, "ip", "ip is not a number")?,
                quantity: opt_number(object, "iq", "iq is not an integer >= 0")?,
                category: opt_string(object, "iv", "iv is not a string")?,
            }),
            "PAGEVIEW" => HitKind::PageView {
                url: object.required_str("dl", "dl is required")?.to_owned(),
            },
            "BATCH" => return Err("a BATCH cannot be nested in a batch"),
            _ => return Err("t is not EVENT, TRANSACTION, ITEM or PAGEVIEW"),
        },
        _ => return Err("t is missing or not a string"),
    };
    let hit = Hit {
        visitor_id: object.required_str("vid", "vid is required")?.to_owned(),
        customer_user_id: opt_string(object, "cuid", "cuid is not a string")?,
        queue_time_ms: opt_number(object, "qt", "qt is not a number >= 0")?.unwrap_or(0.0),
        kind,
    };
    hit.validate()?;
    Ok(hit)
}

/// Absent and `null` are both "not given".
fn opt_string(
    object: &Object,
    key: &str,
    reason: &'static str,
) -> Result<Option<String>, &'static str> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(reason),
    }
}

fn opt_number(
    object: &Object,
    key: &str,
    reason: &'static str,
) -> Result<Option<f64>, &'static str> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(Some(*n)),
        Some(_) => Err(reason),
    }
}
