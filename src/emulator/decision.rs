//! `POST /v2/{envId}/campaigns` and `POST /v2/{envId}/flags`, decided by the crate's bucketing
//! engine from the local file, so the module under test cannot tell the emulator from
//! `decision.flagship.io`.
//!
//! Server behaviours reproduced: `trigger_hit` true or absent records an activation per campaign
//! returned (the official SDK's default, which flagship-segment turns off); `visitor_consent:
//! false` records no activation at all; without `?exposeAllKeys=true` the `null`s for keys only
//! other variations set are left out; panic mode answers `{"visitorId", "campaigns": [], "panic":
//! true}`. The request body and headers are recorded so tests can check which ID was sent.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::http::{json_response, query_param, read_json, ApiError};
use super::journal::{obj, opt, ActivationItem, List};
use super::state::Emulator;
use crate::bucketing::decide;
use crate::context::{Context, ContextValue};
use crate::decision::{write_decision, Decision};
use crate::json::{ObjectWriter, Value};

/// What a decision request asks, after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRequest {
    /// `visitor_id`.
    pub visitor_id: String,
    /// `anonymous_id`.
    pub anonymous_id: Option<String>,
    /// `context`.
    pub context: Context,
    /// `trigger_hit`; absent means true, as on the server.
    pub trigger_hit: bool,
    /// `visitor_consent`, when stated.
    pub visitor_consent: Option<bool>,
}

/// Validates a decision body as the Decision API would.
pub fn parse_request(body: &Value) -> Result<DecisionRequest, &'static str> {
    let top = body.as_object().ok_or("body is not a JSON object")?;
    let visitor_id = match top.get("visitor_id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => return Err("visitor_id is missing or not a non-empty string"),
    };
    let anonymous_id = match top.get("anonymous_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
        Some(_) => return Err("anonymous_id is not a non-empty string or null"),
    };
    let mut context = Context::new();
    match top.get("context") {
        None | Some(Value::Null) => {}
        Some(Value::Object(members)) => {
            for (key, value) in members.iter() {
                let value = match value {
                    Value::String(s) => ContextValue::String(s.clone()),
                    Value::Number(n) => ContextValue::Number(*n),
                    Value::Bool(b) => ContextValue::Bool(*b),
                    _ => return Err("context values must be strings, numbers or booleans"),
                };
                context.insert(key.to_owned(), value);
            }
        }
        Some(_) => return Err("context is not an object"),
    }
    let flag = |key, reason| match top.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(reason),
    };
    Ok(DecisionRequest {
        visitor_id,
        anonymous_id,
        context,
        trigger_hit: flag("trigger_hit", "trigger_hit is not a boolean")?.unwrap_or(true),
        visitor_consent: flag("visitor_consent", "visitor_consent is not a boolean")?,
    })
}

/// Which of the two endpoints answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Campaigns,
    Flags,
}

/// `POST /v2/{envId}/campaigns`.
pub async fn campaigns(
    State(emulator): State<Arc<Emulator>>,
    Path(env_id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    answer(&emulator, &env_id, request, Shape::Campaigns).await
}

/// `POST /v2/{envId}/flags`.
pub async fn flags(
    State(emulator): State<Arc<Emulator>>,
    Path(env_id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    answer(&emulator, &env_id, request, Shape::Flags).await
}

/// Refuses another environment than `--env-id`, when one was given.
pub fn check_env(emulator: &Emulator, env_id: &str) -> Result<(), ApiError> {
    match &emulator.options.env_id {
        Some(expected) if expected != env_id => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "environment not found",
        )),
        _ => Ok(()),
    }
}

fn check_api_key(emulator: &Emulator, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &emulator.options.api_key else {
        return Ok(());
    };
    let sent = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    if sent == Some(expected.as_str()) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "x-api-key is missing or wrong",
        ))
    }
}

async fn answer(
    emulator: &Emulator,
    env_id: &str,
    request: Request,
    shape: Shape,
) -> Result<Response, ApiError> {
    check_env(emulator, env_id)?;
    let (parts, body) = request.into_parts();
    check_api_key(emulator, &parts.headers)?;
    let raw = read_json(&parts.headers, body, emulator.options.max_body).await?;
    let asked = parse_request(&raw).map_err(ApiError::bad_request)?;
    let expose_all = query_param(parts.uri.query(), "exposeAllKeys") == Some("true");
    let loaded = emulator.bucketing().await;
    let mut decision = decide(&loaded.file, &asked.visitor_id, &asked.context);
    if !expose_all {
        // The engine shares its campaigns with the file: copy only the ones to trim.
        for campaign in &mut decision.campaigns {
            std::sync::Arc::make_mut(campaign)
                .variation
                .modifications
                .value
                .0
                .retain(|(_, v)| !v.is_null());
        }
    }
    let consented = asked.visitor_consent != Some(false);
    let triggered = asked.trigger_hit && consented && !decision.panic;
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    {
        let mut journal = emulator.journal();
        if let Some(granted) = asked.visitor_consent {
            let ids = [
                Some(asked.visitor_id.as_str()),
                asked.anonymous_id.as_deref(),
            ];
            journal.set_consent(&ids, granted);
        }
        journal.count("decisions");
        let ids: Vec<Value> = decision
            .campaigns
            .iter()
            .map(|c| c.id.as_str().into())
            .collect();
        journal.push(
            List::Decisions,
            obj(vec![
                (
                    "endpoint",
                    if shape == Shape::Flags {
                        "flags"
                    } else {
                        "campaigns"
                    }
                    .into(),
                ),
                ("envId", env_id.into()),
                ("visitorId", asked.visitor_id.as_str().into()),
                ("anonymousId", opt(asked.anonymous_id.as_deref())),
                ("exposeAllKeys", expose_all.into()),
                ("triggerHit", asked.trigger_hit.into()),
                (
                    "visitorConsent",
                    asked.visitor_consent.map_or(Value::Null, Value::Bool),
                ),
                ("panic", decision.panic.into()),
                ("sdkClient", opt(header("x-sdk-client"))),
                ("sdkVersion", opt(header("x-sdk-version"))),
                ("campaigns", Value::Array(ids)),
                ("body", raw),
            ]),
        );
        if triggered {
            for campaign in &decision.campaigns {
                let item = ActivationItem {
                    vid: asked.visitor_id.clone(),
                    aid: asked.anonymous_id.clone(),
                    caid: campaign.variation_group_id.clone(),
                    vaid: campaign.variation.id.clone(),
                    qt: None,
                };
                journal.activation(env_id, &item, "trigger_hit", &loaded.catalog);
            }
        }
    }
    let body = match shape {
        Shape::Campaigns => write_decision(&decision),
        Shape::Flags => write_flags(&decision),
    };
    Ok(json_response(StatusCode::OK, body))
}

/// The `/flags` answer: `{flagKey: {value, metadata}}`, the first campaign setting a key wins.
pub fn write_flags(decision: &Decision) -> String {
    let mut out = String::with_capacity(512);
    let mut seen = std::collections::HashSet::new();
    let mut w = ObjectWriter::new(&mut out);
    for c in &decision.campaigns {
        for (key, value) in c.variation.modifications.value.iter() {
            if !seen.insert(key) {
                continue;
            }
            w = w.with(key, |out| {
                ObjectWriter::new(out)
                    .value("value", value)
                    .with("metadata", |out| {
                        ObjectWriter::new(out)
                            .string("campaignId", &c.id)
                            .opt_string("campaignName", c.name.as_deref())
                            .opt_string("slug", c.slug.as_deref())
                            .opt_string("type", c.kind.as_deref())
                            .string("variationGroupId", &c.variation_group_id)
                            .opt_string("variationGroupName", c.variation_group_name.as_deref())
                            .string("variationId", &c.variation.id)
                            .opt_string("variationName", c.variation.name.as_deref())
                            .bool("reference", c.variation.reference)
                            .finish();
                    })
                    .finish();
            });
        }
    }
    w.finish();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::parse_decision;
    use crate::json::parse;

    #[test]
    fn requests_are_validated() {
        let ok = parse(r#"{"visitor_id":"A","context":{"plan":"pro","n":2,"b":true}}"#).unwrap();
        let asked = parse_request(&ok).unwrap();
        assert!(asked.trigger_hit, "absent trigger_hit means true");
        assert_eq!(asked.context.len(), 3);
        for (body, reason) in [
            ("[]", "body is not a JSON object"),
            (r#"{}"#, "visitor_id is missing or not a non-empty string"),
            (
                r#"{"visitor_id":""}"#,
                "visitor_id is missing or not a non-empty string",
            ),
            (
                r#"{"visitor_id":"A","anonymous_id":3}"#,
                "anonymous_id is not a non-empty string or null",
            ),
            (
                r#"{"visitor_id":"A","context":[]}"#,
                "context is not an object",
            ),
            (
                r#"{"visitor_id":"A","context":{"k":null}}"#,
                "context values must be strings, numbers or booleans",
            ),
            (
                r#"{"visitor_id":"A","trigger_hit":"no"}"#,
                "trigger_hit is not a boolean",
            ),
            (
                r#"{"visitor_id":"A","visitor_consent":1}"#,
                "visitor_consent is not a boolean",
            ),
        ] {
            assert_eq!(parse_request(&parse(body).unwrap()), Err(reason), "{body}");
        }
    }

    #[test]
    fn flags_answer_keeps_the_first_campaign_per_key() {
        let body = r#"{"visitorId":"A","campaigns":[
            {"id":"c1","variationGroupId":"g1","variation":{"id":"v1","modifications":{"type":"FLAG","value":{"k":1}}}},
            {"id":"c2","variationGroupId":"g2","variation":{"id":"v2","modifications":{"type":"FLAG","value":{"k":2,"j":true}}}}]}"#;
        let flags = parse(&write_flags(&parse_decision(body).unwrap())).unwrap();
        assert_eq!(
            flags.get("k").and_then(|f| f.get("value")),
            Some(&Value::Number(1.0))
        );
        assert_eq!(
            flags
                .get("j")
                .and_then(|f| f.get("metadata"))
                .and_then(|m| m.get("campaignId")),
            Some(&Value::from("c2"))
        );
    }
}
