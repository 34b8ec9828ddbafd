//! Reads the IDs Segment stored (cookie first, then localStorage, as analytics.js 2.0 does) for
//! `fallback: "storage"`. Read-only: nothing here writes, and nothing calls analytics.js, whose
//! `anonymousId()` would mint a new ID.

use alloc::borrow::ToOwned;
use alloc::string::String;

use wasm_bindgen::JsCast;

use crate::identity::{find_cookie, parse_stored_id, stored_segment_ids, SegmentIds, StoredIn};

/// The IDs found in Segment's storage; fields are `None` when nothing usable is stored.
pub(crate) fn read() -> SegmentIds {
    let jar = cookie_jar().unwrap_or_default();
    let (user, anonymous) = (
        local_storage("ajs_user_id"),
        local_storage("ajs_anonymous_id"),
    );
    stored_segment_ids(&jar, [user.as_deref(), anonymous.as_deref()])
}

/// Segment's two copies of the anonymousId, `(cookie, localStorage)`: they diverge across
/// subdomains, which splits one person into two visitors.
pub(crate) fn anonymous_id_copies() -> (Option<String>, Option<String>) {
    let name = "ajs_anonymous_id";
    (
        cookie(name).and_then(|raw| parse_stored_id(&raw, StoredIn::Cookie)),
        local_storage(name).and_then(|raw| parse_stored_id(&raw, StoredIn::LocalStorage)),
    )
}

fn cookie(name: &str) -> Option<String> {
    find_cookie(&cookie_jar()?, name).map(str::to_owned)
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
