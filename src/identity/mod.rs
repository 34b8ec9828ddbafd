//! Who the visitor is, as Segment knows them. Pure rules only; reading analytics.js lives in
//! `crate::browser::segment`.

mod change;
mod policy;
mod segment_value;
mod stored;
mod visitor_id;

pub use change::{classify, ChangeHint, ChangeReason};
#[cfg(test)]
pub(crate) use policy::test_identity;
pub use policy::{resolve, Identity, SegmentIds};
pub use segment_value::{numeric_id, segment_id};
pub use stored::{
    anonymous_id_copies_agree, find_cookie, parse_stored_id, stored_segment_ids, StoredIn,
};
pub use visitor_id::{redact, IdRejection, VisitorId, MAX_ID_CHARS};
