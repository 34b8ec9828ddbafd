//! `initialDecision`: a decision the page already has, made on the server by `decideFromCookies`
//! for the identity in Segment's cookies. The module uses it, with no request, only when that
//! identity is exactly the one it reads from Segment at start; otherwise it is refused
//! (`STALE_IDENTITY`) and the module decides as usual.

use alloc::string::String;

use crate::error::Error;
use crate::identity::Identity;
use crate::json::{self, write_value, Value};

/// A parsed `initialDecision`.
#[derive(Debug, Clone, PartialEq)]
pub struct InitialDecision {
    /// Who it was decided for.
    pub visitor_id: String,
    /// The anonymousId sent beside, if any.
    pub anonymous_id: Option<String>,
    /// The `/campaigns` answer, as text.
    pub body: String,
}

impl InitialDecision {
    /// True when it was made for exactly `identity`.
    pub fn is_for(&self, identity: &Identity) -> bool {
        self.visitor_id == identity.visitor_id()
            && self.anonymous_id.as_deref() == identity.anonymous_id()
    }
}

/// Reads `{visitorId, anonymousId, decision}` (what `decideFromCookies` resolves to, as JSON
/// text; other members such as `flags` are ignored).
pub fn parse_initial_decision(text: &str) -> Result<InitialDecision, Error> {
    let malformed = Error::DecisionMalformed;
    let Ok(Value::Object(initial)) = json::parse(text) else {
        return Err(malformed("initialDecision is not an object"));
    };
    let visitor_id = initial
        .str("visitorId")
        .ok_or(malformed("initialDecision.visitorId is not a string"))?;
    let anonymous_id = match initial.get("anonymousId") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(_) => return Err(malformed("initialDecision.anonymousId is not a string")),
    };
    let Some(decision @ Value::Object(_)) = initial.get("decision") else {
        return Err(malformed("initialDecision.decision is not an object"));
    };
    let mut body = String::new();
    write_value(&mut body, decision);
    Ok(InitialDecision {
        visitor_id: String::from(visitor_id),
        anonymous_id,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::test_identity as identity;

    #[test]
    fn reads_what_the_server_gave_and_matches_only_its_identity() {
        let text = r#"{"visitorId":"user-1","anonymousId":"anon-1","flags":{"x":1},
            "decision":{"visitorId":"user-1","campaigns":[]}}"#;
        let initial = parse_initial_decision(text).unwrap();
        assert_eq!(initial.body, r#"{"visitorId":"user-1","campaigns":[]}"#);
        assert!(initial.is_for(&identity(Some("user-1"), "anon-1")));
        assert!(
            !initial.is_for(&identity(None, "anon-1")),
            "logged out since"
        );
        assert!(
            !initial.is_for(&identity(Some("user-1"), "anon-2")),
            "another device"
        );
        assert!(!initial.is_for(&identity(Some("user-2"), "anon-1")));
        let anonymous = r#"{"visitorId":"anon-1","anonymousId":null,"decision":{}}"#;
        assert!(parse_initial_decision(anonymous)
            .unwrap()
            .is_for(&identity(None, "anon-1")));
    }

    #[test]
    fn anything_else_is_refused_with_a_reason() {
        for text in [
            "",
            "[]",
            r#"{"decision":{}}"#,
            r#"{"visitorId":1,"decision":{}}"#,
            r#"{"visitorId":"a","anonymousId":2,"decision":{}}"#,
            r#"{"visitorId":"a"}"#,
            r#"{"visitorId":"a","decision":"{}"}"#,
        ] {
            let error = parse_initial_decision(text).unwrap_err();
            assert_eq!(error.code(), "DECISION_MALFORMED", "{text}");
        }
    }
}
