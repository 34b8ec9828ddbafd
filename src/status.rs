//! The module's status as the page sees it on `fs.status`, and which failure leads to which.

use crate::error::Error;

/// Where the module stands. `Ready` and `Cached` serve the visitor's flags, `Refreshing` the
/// previous flags or a stored decision; the others, defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// `start` has not finished.
    #[default]
    Starting,
    /// Flags of the current Segment identity are loaded.
    Ready,
    /// The identity or context changed and its decision is being fetched; reads return the
    /// previous flags (or defaults, with `keepFlagsDuringRefresh: false`) and expose nothing.
    /// Also: this identity's stored decision, older than `decisionMaxAgeMs`, is served (and
    /// exposed) while it is asked for again.
    Refreshing,
    /// The Decision API failed; flags come from this identity's last good decision (see
    /// `lastError` for the failure).
    Cached,
    /// The environment is in panic mode: defaults, no exposure.
    Panic,
    /// Segment is absent, blocked or too slow, and no fallback applied: no request was sent.
    SegmentUnavailable,
    /// Segment gave an ID that cannot be sent: no request was sent.
    InvalidVisitorId,
    /// The decision could not be fetched or was refused; see `lastError`.
    FetchFailed,
    /// `close()` was called.
    Closed,
}

impl Status {
    /// The string the page sees.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Starting => "STARTING",
            Status::Ready => "READY",
            Status::Refreshing => "REFRESHING",
            Status::Cached => "CACHED",
            Status::Panic => "PANIC",
            Status::SegmentUnavailable => "SEGMENT_UNAVAILABLE",
            Status::InvalidVisitorId => "INVALID_VISITOR_ID",
            Status::FetchFailed => "FETCH_FAILED",
            Status::Closed => "CLOSED",
        }
    }

    /// The status a failure to decide leaves the module in.
    pub fn after(error: &Error) -> Status {
        match error {
            Error::SegmentUnavailable | Error::SegmentTimeout(_) => Status::SegmentUnavailable,
            Error::InvalidVisitorId(_) => Status::InvalidVisitorId,
            _ => Status::FetchFailed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_map_to_statuses() {
        assert_eq!(
            Status::after(&Error::SegmentTimeout(3000)).as_str(),
            "SEGMENT_UNAVAILABLE"
        );
        assert_eq!(
            Status::after(&Error::SegmentUnavailable).as_str(),
            "SEGMENT_UNAVAILABLE"
        );
        assert_eq!(
            Status::after(&Error::DecisionTimeout(1)).as_str(),
            "FETCH_FAILED"
        );
        assert_eq!(
            Status::after(&Error::VisitorMismatch).as_str(),
            "FETCH_FAILED"
        );
        assert_eq!(
            Status::after(&Error::InvalidVisitorId(
                crate::identity::IdRejection::Empty
            ))
            .as_str(),
            "INVALID_VISITOR_ID"
        );
    }
}
