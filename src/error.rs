//! The one error type of the crate.
//!
//! Every failure the page can observe carries a stable string code (`Error::code`) that the facade
//! puts on the JS `Error` as its `code` property. Codes never change meaning; messages may improve.
//! Messages never contain a full visitor ID or API key.

use crate::identity::IdRejection;
use alloc::string::String;

/// Everything that can go wrong, from bad options to a hostile Decision API response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An option is missing, of the wrong type or out of range. `field` names it (`endpoints.decision`).
    #[error("invalid option `{field}`: {reason}")]
    InvalidOptions {
        /// Path of the offending option, e.g. `timeoutMs` or `context.plan`.
        field: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No Segment analytics instance could be found on the page, and no fallback applies.
    #[error("segment analytics.js is not on the page or exposes no user()")]
    SegmentUnavailable,
    /// Segment was found but did not finish loading within `segmentTimeoutMs`.
    #[error("segment analytics.js did not initialise within {0} ms (blocked or slow)")]
    SegmentTimeout(u32),
    /// Segment returned an ID that cannot be used as a Flagship visitor ID.
    #[error("visitor id refused: {0}")]
    InvalidVisitorId(IdRejection),
    /// The Decision API did not answer within `timeoutMs`; the request was aborted.
    #[error("decision api did not answer within {0} ms")]
    DecisionTimeout(u32),
    /// The Decision API could not be reached (offline, DNS, CORS, connection refused).
    #[error("decision api unreachable: {0}")]
    DecisionNetwork(String),
    /// The Decision API answered with a non-2xx status.
    #[error("decision api answered http {status}: {message}")]
    DecisionHttp {
        /// HTTP status code.
        status: u16,
        /// The API's `{message}` or a short description when there is none.
        message: String,
    },
    /// The Decision API answered 200 with a body that is not the documented shape.
    #[error("decision api response malformed: {0}")]
    DecisionMalformed(&'static str),
    /// The Decision API answered for another visitor than the one asked about.
    #[error("decision api answered for another visitor than the one sent")]
    VisitorMismatch,
    /// A bucketing file is not of the documented shape or exceeds a safety limit.
    #[error("bucketing file malformed: {0}")]
    BucketingMalformed(&'static str),
    /// A bucketing file refused by the bucketing engine (the second .wasm, which parses files
    /// for the main module): [`Error::BucketingMalformed`]'s code and message, with the reason
    /// the engine reported, which reaches the main module as text rather than a `&'static str`.
    #[error("bucketing file malformed: {0}")]
    BucketingRefused(String),
    /// The bucketing file could not be fetched (network, timeout or non-2xx status).
    #[error("bucketing file unavailable: {0}")]
    BucketingFetch(String),
    /// A hit was refused before sending: a required field is missing or a value breaks a rule.
    #[error("hit refused: {0}")]
    InvalidHit(&'static str),
    /// A request was aborted because the identity it was made for is no longer current.
    #[error("request aborted: the segment identity changed")]
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
            Error::DecisionMalformed(_) => "DECISION_MALFORMED",
            Error::VisitorMismatch => "VISITOR_MISMATCH",
            Error::BucketingMalformed(_) | Error::BucketingRefused(_) => "BUCKETING_MALFORMED",
            Error::BucketingFetch(_) => "BUCKETING_FETCH",
            Error::InvalidHit(_) => "INVALID_HIT",
            Error::StaleIdentity => "STALE_IDENTITY",
        }
    }

    /// Shorthand for an [`Error::InvalidOptions`]. Never inlined: it is called at dozens of
    /// refusal sites, each of which would otherwise carry its own copy of the `String` building.
    #[inline(never)]
    pub fn option(field: impl Into<String>, reason: &'static str) -> Error {
        Error::InvalidOptions {
            field: field.into(),
            reason,
        }
    }
}

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
            Error::DecisionMalformed("campaigns is not an array"),
            Error::VisitorMismatch,
            Error::BucketingMalformed("campaigns is not an array"),
            Error::BucketingRefused("campaigns is not an array".into()),
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
                "DECISION_MALFORMED",
                "VISITOR_MISMATCH",
                "BUCKETING_MALFORMED",
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
            Error::BucketingRefused(reason.into()).to_string(),
            Error::BucketingMalformed(reason).to_string()
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
