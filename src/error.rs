//! The one error type of the crate.
//!
//! Every failure the page can observe carries a stable string code (`Error::code`) that the facade
//! puts on the JS `Error` as its `code` property. Codes never change meaning; messages may improve.
//! Messages never contain a full visitor ID or API key.
//! Outside input never panics: it ends in one of these errors or is skipped (the policy is
//! stated once, in the crate documentation, "Panics: none from outside input").
//!
//! Written by hand rather than derived with `thiserror`: a derived `Display` formats through
//! `core::fmt`, which the shipped wasm does not link. [`Error::message`] builds the text by
//! concatenation, and `Display` (natively) writes that same text.

use alloc::borrow::Cow;
use alloc::string::String;
use core::fmt;

use crate::identity::IdRejection;
use crate::json::write_uint;

/// Everything that can go wrong, from bad options to a hostile Decision API response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An option is missing, of the wrong type or out of range. `field` names it (`endpoints.decision`).
    InvalidOptions {
        /// Path of the offending option, e.g. `timeoutMs` or `context.plan`.
        field: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No Segment analytics instance could be found on the page, and no fallback applies.
    SegmentUnavailable,
    /// Segment was found but did not finish loading within `segmentTimeoutMs`.
    SegmentTimeout(u32),
    /// Segment returned an ID that cannot be used as a Flagship visitor ID.
    InvalidVisitorId(IdRejection),
    /// The Decision API did not answer within `timeoutMs`; the request was aborted.
    DecisionTimeout(u32),
    /// The Decision API could not be reached (offline, DNS, CORS, connection refused).
    DecisionNetwork(String),
    /// The Decision API answered with a non-2xx status.
    DecisionHttp {
        /// HTTP status code.
        status: u16,
        /// The API's `{message}` or a short description when there is none.
        message: String,
    },
    /// No request was sent: the Decision API answered 429 to this environment (on this or
    /// another page or tab) and asked for this many more seconds without requests.
    DecisionRateLimited(u32),
    /// The Decision API answered 200 with a body that is not the documented shape.
    DecisionMalformed(&'static str),
    /// The Decision API answered for another visitor than the one asked about.
    VisitorMismatch,
    /// A bucketing file is not of the documented shape or exceeds a safety limit. The parser's
    /// reasons are fixed strings; the main module hears them from the bucketing engine (the
    /// second .wasm) as text.
    BucketingMalformed(Cow<'static, str>),
    /// The bucketing file could not be fetched (network, timeout or non-2xx status).
    BucketingFetch(String),
    /// A hit was refused before sending: a required field is missing or a value breaks a rule.
    InvalidHit(&'static str),
    /// `initialDecision` was made for another identity than the one Segment reports (a cookie
    /// read by the server that the browser no longer has, or another user since): refused, and
    /// the module decides as usual.
    StaleIdentity,
}

impl Error {
    /// The stable code of this error, as seen by the page on `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidOptions { .. } => "INVALID_OPTIONS",
            Error::SegmentUnavailable => "SEGMENT_UNAVAILABLE",
            Error::SegmentTimeout(_) => "SEGMENT_TIMEOUT",
            Error::InvalidVisitorId(_) => "INVALID_VISITOR_ID",
            Error::DecisionTimeout(_) => "DECISION_TIMEOUT",
            Error::DecisionNetwork(_) => "DECISION_NETWORK",
            Error::DecisionHttp { .. } => "DECISION_HTTP",
            Error::DecisionRateLimited(_) => "DECISION_RATE_LIMITED",
            Error::DecisionMalformed(_) => "DECISION_MALFORMED",
            Error::VisitorMismatch => "VISITOR_MISMATCH",
            Error::BucketingMalformed(_) => "BUCKETING_MALFORMED",
            Error::BucketingFetch(_) => "BUCKETING_FETCH",
            Error::InvalidHit(_) => "INVALID_HIT",
            Error::StaleIdentity => "STALE_IDENTITY",
        }
    }

    /// The message the page sees on `error.message` and `lastError.message`.
    pub fn message(&self) -> String {
        let mut m = String::new();
        let ms = |m: &mut String, lead: &str, n: u32, tail: &str| {
            m.push_str(lead);
            write_uint(m, u64::from(n));
            m.push_str(tail);
        };
        match self {
            Error::InvalidOptions { field, reason } => {
                m.push_str("invalid option `");
                m.push_str(field);
                m.push_str("`: ");
                m.push_str(reason);
            }
            Error::SegmentUnavailable => {
                m.push_str("segment analytics.js is not on the page or exposes no user()")
            }
            Error::SegmentTimeout(n) => ms(
                &mut m,
                "segment analytics.js did not initialise within ",
                *n,
                " ms (blocked or slow)",
            ),
            Error::InvalidVisitorId(rejection) => {
                m.push_str("visitor id refused: ");
                rejection.describe(&mut m);
            }
            Error::DecisionTimeout(n) => {
                ms(&mut m, "decision api did not answer within ", *n, " ms")
            }
            Error::DecisionNetwork(detail) => {
                m.push_str("decision api unreachable: ");
                m.push_str(detail);
            }
            Error::DecisionHttp { status, message } => {
                ms(
                    &mut m,
                    "decision api answered http ",
                    u32::from(*status),
                    ": ",
                );
                m.push_str(message);
            }
            Error::DecisionRateLimited(seconds) => ms(
                &mut m,
                "decision api rate limit (429): no request for ",
                *seconds,
                " s more",
            ),
            Error::DecisionMalformed(reason) => {
                m.push_str("decision api response malformed: ");
                m.push_str(reason);
            }
            Error::VisitorMismatch => {
                m.push_str("decision api answered for another visitor than the one sent")
            }
            Error::BucketingMalformed(reason) => {
                m.push_str("bucketing file malformed: ");
                m.push_str(reason);
            }
            Error::BucketingFetch(reason) => {
                m.push_str("bucketing file unavailable: ");
                m.push_str(reason);
            }
            Error::InvalidHit(reason) => {
                m.push_str("hit refused: ");
                m.push_str(reason);
            }
            Error::StaleIdentity => m.push_str(
                "initialDecision was made for another visitor than segment's; deciding again",
            ),
        }
        m
    }

    /// Shorthand for an [`Error::InvalidOptions`]. Never inlined: it is called at dozens of
    /// refusal sites, each of which would otherwise carry its own copy of the `String` building.
    #[inline(never)]
    pub fn option(field: &str, reason: &'static str) -> Error {
        Error::InvalidOptions {
            field: String::from(field),
            reason,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_upper_snake() {
        let all = [
            Error::option("envId", "is required"),
            Error::SegmentUnavailable,
            Error::SegmentTimeout(3000),
            Error::InvalidVisitorId(IdRejection::Empty),
            Error::DecisionTimeout(2000),
            Error::DecisionNetwork("offline".into()),
            Error::DecisionHttp {
                status: 429,
                message: "rate limited".into(),
            },
            Error::DecisionRateLimited(9),
            Error::DecisionMalformed("campaigns is not an array"),
            Error::VisitorMismatch,
            Error::BucketingMalformed("campaigns is not an array".into()),
            Error::BucketingFetch("http 404".into()),
            Error::InvalidHit("ea is required"),
            Error::StaleIdentity,
        ];
        let codes: Vec<_> = all.iter().map(Error::code).collect();
        assert_eq!(
            codes,
            [
                "INVALID_OPTIONS",
                "SEGMENT_UNAVAILABLE",
                "SEGMENT_TIMEOUT",
                "INVALID_VISITOR_ID",
                "DECISION_TIMEOUT",
                "DECISION_NETWORK",
                "DECISION_HTTP",
                "DECISION_RATE_LIMITED",
                "DECISION_MALFORMED",
                "VISITOR_MISMATCH",
                "BUCKETING_MALFORMED",
                "BUCKETING_FETCH",
                "INVALID_HIT",
                "STALE_IDENTITY",
            ]
        );
    }

    #[test]
    fn a_reason_from_the_bucketing_engine_reads_like_the_core_s_own() {
        let reason = "allocation is outside 0..=100";
        assert_eq!(
            Error::BucketingMalformed(String::from(reason).into()).to_string(),
            Error::BucketingMalformed(reason.into()).to_string()
        );
    }

    #[test]
    fn invalid_options_names_the_field() {
        let e = Error::option("endpoints.decision", "must be an http(s) URL");
        assert_eq!(
            e.to_string(),
            "invalid option `endpoints.decision`: must be an http(s) URL"
        );
    }
}
