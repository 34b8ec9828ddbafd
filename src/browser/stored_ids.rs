//! Reads the IDs Segment stored (cookie first, then localStorage, as analytics.js 2.0 does) for
//! `fallback: "storage"`. Read-only: nothing here writes, and nothing calls analytics.js, whose
//! `anonymousId()` would mint a new ID.

use alloc::string::String;

use wasm_bindgen::JsCast;

use crate::identity::{stored_segment_ids, SegmentIds};

/// The IDs found in Segment's storage; fields are `None` when nothing usable is stored.
pub(crate) fn read() -> SegmentIds {
    let jar = cookie_jar().unwrap_or_default();
    let (user, anonymous) = (
        local_storage("ajs_user_id"),
        local_storage("ajs_anonymous_id"),
    );
    stored_segment_ids(&jar, [user.as_deref(), anonymous.as_deref()])
}

/// Whether Segment's cookie and localStorage copies of the anonymousId agree (`crate::identity`
/// compares them), for `diagnose()`.
pub(crate) fn anonymous_id_copies_agree() -> Option<bool> {
    let jar = cookie_jar().unwrap_or_default();
    crate::identity::anonymous_id_copies_agree(&jar, local_storage("ajs_anonymous_id").as_deref())
}

/// `document.cookie`; it throws in sandboxed documents, which is "no cookie".
fn cookie_jar() -> Option<String> {
    let document = web_sys::window()?.document()?;
    document
        .dyn_into::<web_sys::HtmlDocument>()
        .ok()?
        .cookie()
        .ok()
}

fn local_storage(name: &str) -> Option<String> {
    // Both the getter and getItem throw when storage is disabled.
    web_sys::window()?
        .local_storage()
        .ok()??
        .get_item(name)
        .ok()?
}
