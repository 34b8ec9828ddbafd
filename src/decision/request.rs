//! The `/campaigns` request we send and how its answer is judged, with no I/O.

use super::model::{parse_decision, parse_error_message, Decision};
use crate::config::Config;
use crate::context::{full_context, write_context, Context};
use crate::error::Error;
use crate::identity::Identity;
use crate::json::ObjectWriter;
use crate::wire::{api_headers, join, Request};
use alloc::{borrow::ToOwned, string::String};

/// `POST {decision}/v2/{envId}/campaigns?exposeAllKeys=true` for `identity`.
///
/// `trigger_hit` is always false: exposure is sent per flag read, never for every campaign returned.
/// `consent` is the visitor's current consent (it can change after start).
pub fn campaigns_request(
    config: &Config,
    identity: &Identity,
    context: &Context,
    consent: bool,
) -> Request {
    let mut body = String::with_capacity(256);
    ObjectWriter::new(&mut body)
        .string("visitor_id", identity.visitor_id())
        .opt_string("anonymous_id", identity.anonymous_id())
        .bool("trigger_hit", false)
        .bool("visitor_consent", consent)
        .with("context", |out| {
            write_context(out, &full_context(context, identity.visitor_id()))
        })
        .finish();
    Request::post(
        join(
            &config.endpoints.decision,
            &["/v2/", &config.env_id, "/campaigns?exposeAllKeys=true"],
        ),
        api_headers(&config.api_key),
        body,
    )
}

/// Judges an answer to a request sent for `sent`: only a 200 that parses and names the same
/// visitor is a decision.
pub fn interpret_campaigns_response(
    sent: &Identity,
    status: u16,
    body: &str,
) -> Result<Decision, Error> {
    if status != 200 {
        let message = parse_error_message(body).unwrap_or_else(|| match status {
            429 => "rate limited".to_owned(),
            _ => "no message".to_owned(),
        });
        return Err(Error::DecisionHttp { status, message });
    }
    let decision = parse_decision(body)?;
    if decision.visitor_id != sent.visitor_id() {
        return Err(Error::VisitorMismatch);
    }
    Ok(decision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Endpoints;
    use crate::context::ContextValue;
    use crate::identity::test_identity as identity;
    use serde_json::{json, Value};

    fn config() -> Config {
        Config {
            env_id: "env1".into(),
            api_key: "key1".into(),
            endpoints: Endpoints {
                decision: "https://decision.example".into(),
                ..Endpoints::default()
            },
            ..Config::default()
        }
    }

    #[test]
    fn anonymous_request_matches_the_contract() {
        let mut page = Context::new();
        page.insert("plan".into(), ContextValue::String("pro".into()));
        let req = campaigns_request(&config(), &identity(None, "A"), &page, true);
        assert_eq!(
            req.url,
            "https://decision.example/v2/env1/campaigns?exposeAllKeys=true"
        );
        assert_eq!(
            req.headers,
            vec![
                ("x-api-key", "key1".to_owned()),
                ("x-sdk-client", "flagship-segment".to_owned()),
                ("x-sdk-version", env!("CARGO_PKG_VERSION").to_owned()),
                ("content-type", "application/json".to_owned()),
            ]
        );
        let body: Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(
            body,
            json!({
                "visitor_id": "A", "anonymous_id": null, "trigger_hit": false, "visitor_consent": true,
                "context": {"plan": "pro", "fs_users": "A", "fs_client": "flagship-segment",
                            "fs_version": env!("CARGO_PKG_VERSION")}
            })
        );
    }

    #[test]
    fn identified_request_carries_both_ids() {
        let req = campaigns_request(&config(), &identity(Some("U"), "A"), &Context::new(), false);
        let body: Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(body["visitor_id"], "U");
        assert_eq!(body["anonymous_id"], "A");
        assert_eq!(body["context"]["fs_users"], "U");
        assert_eq!(body["visitor_consent"], false);
    }

    #[test]
    fn answers_are_judged() {
        let sent = identity(None, "A");
        let ok = r#"{"visitorId":"A","campaigns":[]}"#;
        assert!(interpret_campaigns_response(&sent, 200, ok).is_ok());
        let other = r#"{"visitorId":"B","campaigns":[]}"#;
        assert_eq!(
            interpret_campaigns_response(&sent, 200, other),
            Err(Error::VisitorMismatch)
        );
        assert_eq!(
            interpret_campaigns_response(&sent, 403, r#"{"message":"Forbidden"}"#),
            Err(Error::DecisionHttp {
                status: 403,
                message: "Forbidden".into()
            })
        );
        assert_eq!(
            interpret_campaigns_response(&sent, 429, ""),
            Err(Error::DecisionHttp {
                status: 429,
                message: "rate limited".into()
            })
        );
        assert_eq!(
            interpret_campaigns_response(&sent, 502, "<html>"),
            Err(Error::DecisionHttp {
                status: 502,
                message: "no message".into()
            })
        );
        assert_eq!(
            interpret_campaigns_response(&sent, 200, "{"),
            Err(Error::DecisionMalformed("body is not JSON"))
        );
    }
}
