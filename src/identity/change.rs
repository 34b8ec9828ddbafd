//! What kind of identity change happened, from two readings of Segment's IDs.
//!
//! Segment fires `identify` late (after delivery), fires `reset` only in analytics.js 2.0, and
//! fires nothing on `setAnonymousId`. So the module compares readings instead of trusting events,
//! and uses an event only as a hint to name a change that the IDs alone cannot tell apart
//! (a reset and a `setAnonymousId` both just replace the anonymousId of an anonymous visitor).

use super::policy::SegmentIds;

/// Why the identity changed, as reported to the page on `change` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeReason {
    /// The visitor logged in, or switched to another userId.
    Identify,
    /// The visitor logged out (`analytics.reset()`).
    Reset,
    /// Only the anonymousId changed (`setAnonymousId`, or a reset that fired no event).
    AnonymousId,
    /// Same visitor, new context (`updateContext`, traits): decisions are fetched again.
    Refresh,
}

impl ChangeReason {
    /// The string the page sees.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeReason::Identify => "identify",
            ChangeReason::Reset => "reset",
            ChangeReason::AnonymousId => "anonymous-id",
            ChangeReason::Refresh => "refresh",
        }
    }
}

/// The event Segment just fired, if the check was triggered by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeHint {
    /// `identify` event or the plugin's `identify` hook.
    Identify,
    /// `reset` event.
    Reset,
    /// No event: a check before a request, or a periodic one.
    None,
}

/// Names the change from `before` to `after`, or `None` when Segment's IDs did not change.
pub fn classify(before: &SegmentIds, after: &SegmentIds, hint: ChangeHint) -> Option<ChangeReason> {
    if before == after {
        return None;
    }
    let user = |ids: &SegmentIds| ids.user_id.clone().filter(|u| !u.is_empty());
    Some(match (user(before), user(after)) {
        (Some(_), None) => ChangeReason::Reset,
        (old, Some(new)) if old.as_deref() != Some(new.as_str()) => ChangeReason::Identify,
        _ if hint == ChangeHint::Reset => ChangeReason::Reset,
        _ => ChangeReason::AnonymousId,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(user: Option<&str>, anonymous: &str) -> SegmentIds {
        SegmentIds {
            user_id: user.map(Into::into),
            anonymous_id: Some(anonymous.into()),
        }
    }

    #[test]
    fn the_whole_walk() {
        let anonymous = ids(None, "A");
        let as_u = ids(Some("U"), "A");
        // identify(V) after U: Segment rotates the anonymousId.
        let as_v = ids(Some("V"), "A2");
        let after_reset = ids(None, "A3");
        let after_set = ids(None, "custom");
        assert_eq!(
            classify(&anonymous, &as_u, ChangeHint::Identify),
            Some(ChangeReason::Identify)
        );
        assert_eq!(
            classify(&as_u, &as_v, ChangeHint::None),
            Some(ChangeReason::Identify)
        );
        assert_eq!(
            classify(&as_v, &after_reset, ChangeHint::None),
            Some(ChangeReason::Reset)
        );
        assert_eq!(
            classify(&after_reset, &after_set, ChangeHint::None),
            Some(ChangeReason::AnonymousId)
        );
    }

    #[test]
    fn no_change_is_none_even_with_an_event() {
        let same = ids(Some("U"), "A");
        assert_eq!(classify(&same, &same.clone(), ChangeHint::Identify), None);
        assert_eq!(classify(&same, &same.clone(), ChangeHint::Reset), None);
    }

    #[test]
    fn anonymous_reset_needs_the_event_to_be_named() {
        let before = ids(None, "A");
        let after = ids(None, "B");
        assert_eq!(
            classify(&before, &after, ChangeHint::Reset),
            Some(ChangeReason::Reset)
        );
        assert_eq!(
            classify(&before, &after, ChangeHint::None),
            Some(ChangeReason::AnonymousId)
        );
    }

    #[test]
    fn identify_of_the_same_user_changing_only_the_anonymous_id() {
        let before = ids(Some("U"), "A");
        let after = ids(Some("U"), "B");
        assert_eq!(
            classify(&before, &after, ChangeHint::Identify),
            Some(ChangeReason::AnonymousId)
        );
    }

    #[test]
    fn reasons_have_page_names() {
        let names: Vec<_> = [
            ChangeReason::Identify,
            ChangeReason::Reset,
            ChangeReason::AnonymousId,
            ChangeReason::Refresh,
        ]
        .iter()
        .map(|r| r.as_str())
        .collect();
        assert_eq!(names, ["identify", "reset", "anonymous-id", "refresh"]);
    }
}
