//! Which Segment ID becomes the Flagship visitor ID, and which goes beside it.
//!
//! Flagship's experience continuity (contract §2): an identified visitor is decided and exposed as
//! the userId U with the anonymousId A alongside, so the variation seen while anonymous carries over;
//! hits keep `vid = A` and put U in `cuid`. This module is the single place that layout is written.

use super::visitor_id::{IdRejection, VisitorId};
use crate::config::IdPolicy;
use alloc::string::String;

/// The two IDs as read from Segment's `user()`, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentIds {
    /// `user().id()`: set once the page called `identify(userId)`.
    pub user_id: Option<String>,
    /// `user().anonymousId()`.
    pub anonymous_id: Option<String>,
}

/// The identity every outgoing request is built from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    visitor: VisitorId,
    /// Set only for an identified visitor under [`IdPolicy::UserThenAnonymous`].
    anonymous: Option<VisitorId>,
}

impl Identity {
    /// The ID Flagship decides for: `visitor_id` of `/campaigns`, `vid` of `/activate`.
    pub fn visitor_id(&self) -> &str {
        self.visitor.as_str()
    }

    /// The anonymousId sent beside an identified visitor: `anonymous_id`, `aid`.
    pub fn anonymous_id(&self) -> Option<&str> {
        self.anonymous.as_ref().map(VisitorId::as_str)
    }

    /// `(vid, cuid)` for collector hits: the anonymousId stays the hit's visitor and the userId
    /// goes in `cuid`, so AB Tasty joins both sessions.
    pub fn hit_ids(&self) -> (&str, Option<&str>) {
        match &self.anonymous {
            Some(anonymous) => (anonymous.as_str(), Some(self.visitor.as_str())),
            None => (self.visitor.as_str(), None),
        }
    }

    /// True when the visitor ID is Segment's userId.
    pub fn is_identified(&self) -> bool {
        self.anonymous.is_some()
    }
}

/// Applies `policy` to the IDs Segment reported.
///
/// A refused userId is an error rather than a silent fall back to the anonymousId: falling back
/// would send AB Tasty an ID that Segment no longer uses for this person. A refused anonymousId
/// beside a good userId only drops continuity.
pub fn resolve(ids: &SegmentIds, policy: IdPolicy) -> Result<Identity, IdRejection> {
    let parse = VisitorId::parse;
    let user = match policy {
        IdPolicy::UserThenAnonymous => non_null(&ids.user_id),
        IdPolicy::Anonymous => None,
    };
    let anonymous = non_null(&ids.anonymous_id);
    match (user, anonymous) {
        (Some(user), anonymous) => Ok(Identity {
            visitor: parse(user)?,
            anonymous: anonymous.and_then(|a| VisitorId::parse(a).ok()),
        }),
        (None, Some(anonymous)) => Ok(Identity {
            visitor: parse(anonymous)?,
            anonymous: None,
        }),
        (None, None) => Err(IdRejection::Empty),
    }
}

/// The identity Segment's IDs resolve to under the default policy, for unit tests elsewhere in
/// the crate.
#[cfg(test)]
pub(crate) fn test_identity(user: Option<&str>, anonymous: &str) -> Identity {
    let ids = SegmentIds {
        user_id: user.map(Into::into),
        anonymous_id: Some(anonymous.into()),
    };
    resolve(&ids, IdPolicy::default()).unwrap()
}

/// Segment returns `null` for "no userId"; an empty string means the same thing in practice.
fn non_null(id: &Option<String>) -> Option<&str> {
    id.as_deref().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(user: Option<&str>, anonymous: Option<&str>) -> SegmentIds {
        SegmentIds {
            user_id: user.map(str::to_owned),
            anonymous_id: anonymous.map(str::to_owned),
        }
    }

    #[test]
    fn anonymous_visitor_uses_the_anonymous_id_alone() {
        let id = resolve(&ids(None, Some("A")), IdPolicy::default()).unwrap();
        assert_eq!((id.visitor_id(), id.anonymous_id()), ("A", None));
        assert_eq!(id.hit_ids(), ("A", None));
        assert!(!id.is_identified());
    }

    #[test]
    fn identified_visitor_follows_the_continuity_layout() {
        let id = resolve(&ids(Some("U"), Some("A")), IdPolicy::default()).unwrap();
        assert_eq!((id.visitor_id(), id.anonymous_id()), ("U", Some("A")));
        assert_eq!(id.hit_ids(), ("A", Some("U")));
        assert!(id.is_identified());
    }

    #[test]
    fn anonymous_policy_never_sends_the_user_id() {
        let id = resolve(&ids(Some("U"), Some("A")), IdPolicy::Anonymous).unwrap();
        assert_eq!((id.visitor_id(), id.anonymous_id()), ("A", None));
        assert_eq!(id.hit_ids(), ("A", None));
    }

    #[test]
    fn empty_user_id_counts_as_anonymous() {
        let id = resolve(&ids(Some(""), Some("A")), IdPolicy::default()).unwrap();
        assert_eq!(id.visitor_id(), "A");
    }

    #[test]
    fn refused_user_id_is_an_error_not_a_fallback() {
        let err = resolve(&ids(Some("U\n"), Some("A")), IdPolicy::default()).unwrap_err();
        assert_eq!(err, IdRejection::ControlCharacter);
    }

    #[test]
    fn refused_anonymous_id_beside_a_user_id_drops_continuity_only() {
        let id = resolve(&ids(Some("U"), Some("\u{7}")), IdPolicy::default()).unwrap();
        assert_eq!((id.visitor_id(), id.anonymous_id()), ("U", None));
        assert_eq!(id.hit_ids(), ("U", None));
    }

    #[test]
    fn no_id_at_all_is_refused() {
        let err = resolve(&ids(None, None), IdPolicy::default()).unwrap_err();
        assert_eq!(
            crate::Error::InvalidVisitorId(err).code(),
            "INVALID_VISITOR_ID"
        );
        let err = resolve(&ids(Some("U"), None), IdPolicy::Anonymous).unwrap_err();
        assert_eq!(
            crate::Error::InvalidVisitorId(err).code(),
            "INVALID_VISITOR_ID"
        );
    }
}
