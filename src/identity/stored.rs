//! Reading the IDs Segment stored, for the opt-in `fallback: "storage"` path.
//!
//! Segment keeps `ajs_anonymous_id` / `ajs_user_id` in a cookie and in localStorage, in three forms:
//! raw (`9f1c…`, analytics.js 2.0 cookies), JSON quoted and URL encoded (`%229f1c…%22`, classic
//! cookies), JSON quoted (`"9f1c…"`, localStorage). This module only reads: the module never writes
//! or mints an ID, because an ID Segment does not know is worse than none.

use alloc::{borrow::ToOwned, string::String, vec::Vec};

/// Decodes one stored value in any of Segment's three forms. `None` for absent, `null` or empty.
pub fn parse_stored_id(stored: &str) -> Option<String> {
    let decoded = percent_decode(stored.trim());
    let value = match decoded.strip_prefix('"') {
        Some(_) => match crate::json::parse(&decoded) {
            Ok(crate::json::Value::String(inner)) => inner,
            _ => return None,
        },
        None if decoded == "null" || decoded == "undefined" => return None,
        None => decoded,
    };
    (!value.is_empty()).then_some(value)
}

/// The IDs Segment stored, each from its cookie (in `cookies`, a `document.cookie` string) or
/// else its localStorage copy (`local`: the raw values of `ajs_user_id` and `ajs_anonymous_id`),
/// as analytics.js 2.0 reads them; `None` where nothing usable is stored.
pub fn stored_segment_ids(cookies: &str, local: [Option<&str>; 2]) -> super::SegmentIds {
    let read = |name, local: Option<&str>| {
        find_cookie(cookies, name)
            .and_then(parse_stored_id)
            .or_else(|| local.and_then(parse_stored_id))
    };
    super::SegmentIds {
        user_id: read("ajs_user_id", local[0]),
        anonymous_id: read("ajs_anonymous_id", local[1]),
    }
}

/// Finds cookie `name` in a `document.cookie` string.
pub fn find_cookie<'a>(cookies: &'a str, name: &str) -> Option<&'a str> {
    cookies.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == name).then_some(value.trim())
    })
}

/// `%XX` decoding; a malformed escape is kept as written rather than failing the whole value.
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(core::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const UUID: &str = "9f1c1b0e-2f44-4c57-9d0c-7c0d6a2e1f11";

    #[test]
    fn reads_all_three_forms() {
        assert_eq!(parse_stored_id(UUID).as_deref(), Some(UUID));
        assert_eq!(
            parse_stored_id(&format!("%22{UUID}%22")).as_deref(),
            Some(UUID)
        );
        assert_eq!(
            parse_stored_id(&format!("\"{UUID}\"")).as_deref(),
            Some(UUID)
        );
    }

    #[test]
    fn reads_encoded_user_ids() {
        assert_eq!(
            parse_stored_id("%22jane%40example.com%22").as_deref(),
            Some("jane@example.com")
        );
        assert_eq!(
            parse_stored_id("jane%40example.com").as_deref(),
            Some("jane@example.com")
        );
        assert_eq!(parse_stored_id("\"a\\\"b\"").as_deref(), Some("a\"b"));
    }

    #[test]
    fn absent_forms_are_none() {
        for stored in [
            "",
            "null",
            "%22%22",
            "\"\"",
            "undefined",
            "\"unterminated",
            "  ",
        ] {
            assert_eq!(parse_stored_id(stored), None, "{stored:?}");
        }
    }

    #[test]
    fn finds_cookies_by_exact_name() {
        let jar = format!("x_ajs_anonymous_id=nope; ajs_anonymous_id=%22{UUID}%22; ajs_user_id=u1");
        assert_eq!(
            find_cookie(&jar, "ajs_anonymous_id"),
            Some(&*format!("%22{UUID}%22"))
        );
        assert_eq!(find_cookie(&jar, "ajs_user_id"), Some("u1"));
        assert_eq!(find_cookie(&jar, "ajs_group_id"), None);
        assert_eq!(find_cookie("", "ajs_user_id"), None);
    }

    #[test]
    fn malformed_escapes_are_kept() {
        assert_eq!(parse_stored_id("50%").as_deref(), Some("50%"));
        assert_eq!(parse_stored_id("%zz").as_deref(), Some("%zz"));
        assert_eq!(parse_stored_id("%ff%fe").as_deref(), Some("%ff%fe"));
    }

    proptest! {
        #[test]
        fn never_panics(s in ".*") {
            let _ = parse_stored_id(&s);
            let _ = find_cookie(&s, "ajs_user_id");
        }

        #[test]
        fn every_form_round_trips(id in "[A-Za-z0-9@._-]{1,64}") {
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(parse_stored_id(&id), Some(id.clone()));
            prop_assert_eq!(parse_stored_id(&json), Some(id.clone()));
            let encoded = json.replace('"', "%22").replace('@', "%40");
            prop_assert_eq!(parse_stored_id(&encoded), Some(id));
        }
    }
}
