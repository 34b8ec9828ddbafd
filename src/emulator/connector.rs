//! The SegmentIO connector, as a pure judgement: forward an activation or hit to Segment, or drop
//! it, given the IDs Segment has seen so far.
//!
//! Which IDs are matched (contract §2, experience continuity):
//! - an activation carries `vid` (the Segment userId once identified, else the anonymousId) and
//!   `aid` (the anonymousId beside a userId, else null);
//! - a hit carries `vid` (always the anonymousId) and `cuid` (the userId once identified).
//!
//! The connector keys the Segment event on `vid`, so `vid` must be an ID Segment has seen, as a
//! userId or an anonymousId. The second ID, when present, must be known too: a page that pairs
//! Segment's anonymousId with an ID of its own would otherwise pass while its events land on a
//! profile Segment never heard of — exactly the mismatch flagship-segment exists to prevent.
//! The forwarded event names each ID by the role Segment saw it in (`userId` / `anonymousId`).
//!
//! Visitors whose last known consent is `false` (from `visitor_consent` or a consent hit) are not
//! forwarded: a connector must not send tracking for someone who declined it.

use std::collections::HashSet;

/// IDs received on the Segment-shaped endpoint, by role.
#[derive(Debug, Clone, Default)]
pub struct SeenIds {
    /// Every `userId` (and alias `previousId`) Segment sent.
    pub user_ids: HashSet<String>,
    /// Every `anonymousId` Segment sent.
    pub anonymous_ids: HashSet<String>,
}

impl SeenIds {
    /// True when Segment sent `id` in either role.
    pub fn knows(&self, id: &str) -> bool {
        self.user_ids.contains(id) || self.anonymous_ids.contains(id)
    }
}

/// The connector's decision about one activation or hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Send to Segment as this identity.
    Forward {
        /// The ID Segment knows as a userId, if any of the two.
        user_id: Option<String>,
        /// The ID Segment knows as an anonymousId, if any of the two.
        anonymous_id: Option<String>,
    },
    /// Do not send; the reason is reported in the log.
    Drop(&'static str),
}

/// What is being judged: the item's two IDs and what the emulator knows about consent.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// `vid`.
    pub visitor_id: &'a str,
    /// `aid` for an activation, `cuid` for a hit.
    pub other_id: Option<&'a str>,
    /// `"aid"` or `"cuid"`, for the reason text.
    pub other_is_customer_id: bool,
    /// Last consent known for either ID; `None` when never stated.
    pub consent: Option<bool>,
}

/// Judges `subject` against the IDs Segment has seen at this moment.
pub fn judge(seen: &SeenIds, subject: Subject<'_>) -> Verdict {
    if subject.consent == Some(false) {
        return Verdict::Drop("visitor has not given consent");
    }
    if !seen.knows(subject.visitor_id) {
        return Verdict::Drop("vid was never sent by Segment");
    }
    if let Some(other) = subject.other_id {
        if !seen.knows(other) {
            return Verdict::Drop(if subject.other_is_customer_id {
                "cuid was never sent by Segment"
            } else {
                "aid was never sent by Segment"
            });
        }
    }
    let ids = [Some(subject.visitor_id), subject.other_id];
    let in_role = |set: &HashSet<String>| {
        ids.iter()
            .flatten()
            .find(|id| set.contains(**id))
            .map(|id| (*id).to_owned())
    };
    Verdict::Forward {
        user_id: in_role(&seen.user_ids),
        anonymous_id: in_role(&seen.anonymous_ids),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen() -> SeenIds {
        let mut s = SeenIds::default();
        s.anonymous_ids.insert("A".into());
        s.user_ids.insert("U".into());
        s
    }

    fn subject<'a>(vid: &'a str, other: Option<&'a str>) -> Subject<'a> {
        Subject {
            visitor_id: vid,
            other_id: other,
            other_is_customer_id: false,
            consent: None,
        }
    }

    #[test]
    fn anonymous_activation_is_forwarded_as_the_anonymous_id() {
        assert_eq!(
            judge(&seen(), subject("A", None)),
            Verdict::Forward {
                user_id: None,
                anonymous_id: Some("A".into())
            }
        );
    }

    #[test]
    fn identified_items_carry_both_roles_whatever_the_order() {
        let both = Verdict::Forward {
            user_id: Some("U".into()),
            anonymous_id: Some("A".into()),
        };
        // Activation: vid = U, aid = A. Hit: vid = A, cuid = U.
        assert_eq!(judge(&seen(), subject("U", Some("A"))), both);
        assert_eq!(judge(&seen(), subject("A", Some("U"))), both);
    }

    #[test]
    fn unknown_ids_are_dropped() {
        assert_eq!(
            judge(&seen(), subject("page-made-id", None)),
            Verdict::Drop("vid was never sent by Segment")
        );
        assert_eq!(
            judge(&seen(), subject("A", Some("page-user"))),
            Verdict::Drop("aid was never sent by Segment")
        );
        let hit = Subject {
            other_is_customer_id: true,
            ..subject("A", Some("page-user"))
        };
        assert_eq!(
            judge(&seen(), hit),
            Verdict::Drop("cuid was never sent by Segment")
        );
    }

    #[test]
    fn declined_consent_is_never_forwarded() {
        let declined = Subject {
            consent: Some(false),
            ..subject("A", None)
        };
        assert_eq!(
            judge(&seen(), declined),
            Verdict::Drop("visitor has not given consent")
        );
        let granted = Subject {
            consent: Some(true),
            ..subject("A", None)
        };
        assert!(matches!(judge(&seen(), granted), Verdict::Forward { .. }));
    }
}
