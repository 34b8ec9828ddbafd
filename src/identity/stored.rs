//! Reading the IDs Segment stored, for the opt-in `fallback: "storage"` path and the server.
//!
//! Segment keeps `ajs_anonymous_id` / `ajs_user_id` in a cookie and in localStorage, in three forms:
//! raw (`9f1c…`, analytics.js 2.0 cookies), JSON quoted and URL encoded (`%229f1c…%22`, classic
//! cookies), JSON quoted (`"9f1c…"`, localStorage). Only cookies are URL encoded (js-cookie encodes
//! what it writes, `%` included): a localStorage value is read as written, so an ID such as
//! `a%41b` stays itself there. This module only reads: the module never writes or mints an ID,
//! because an ID Segment does not know is worse than none.

use alloc::{borrow::ToOwned, string::String, vec::Vec};

/// Where a stored ID was read, which decides its forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredIn {
    /// A cookie value: URL encoded.
    Cookie,
    /// A localStorage value: written as it is.
    LocalStorage,
}

/// Decodes one stored value in any of Segment's forms for `place`. `None` for absent, `null` or
/// empty.
pub fn parse_stored_id(stored: &str, place: StoredIn) -> Option<String> {
    let stored = stored.trim();
    let decoded = match place {
        StoredIn::Cookie => percent_decode(stored),
        StoredIn::LocalStorage => stored.to_owned(),
    };
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
            .and_then(|raw| parse_stored_id(raw, StoredIn::Cookie))
            .or_else(|| local.and_then(|raw| parse_stored_id(raw, StoredIn::LocalStorage)))
    };
    super::SegmentIds {
        user_id: read("ajs_user_id", local[0]),
        anonymous_id: read("ajs_anonymous_id", local[1]),
    }
}

/// Whether Segment's two copies of `ajs_anonymous_id` agree: its cookie (in `cookies`) and its
/// localStorage value (`local`, raw). They diverge across subdomains (localStorage is per origin,
/// the cookie shared), which splits one person into two visitors; `None` when one is missing.
pub fn anonymous_id_copies_agree(cookies: &str, local: Option<&str>) -> Option<bool> {
    let cookie = find_cookie(cookies, "ajs_anonymous_id")
        .and_then(|raw| parse_stored_id(raw, StoredIn::Cookie))?;
    let local = local.and_then(|raw| parse_stored_id(raw, StoredIn::LocalStorage))?;
    Some(cookie == local)
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
            // Two hex digits exactly: `from_str_radix` alone would take `%+f` as an escape.
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
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
    use StoredIn::{Cookie, LocalStorage};

    const UUID: &str = "9f1c1b0e-2f44-4c57-9d0c-7c0d6a2e1f11";

    #[test]
    fn issue_22_the_two_copies_of_the_anonymous_id_are_compared_as_each_is_stored() {
        let cookies = "a=1; ajs_anonymous_id=%22anon-1%22";
        assert_eq!(
            anonymous_id_copies_agree(cookies, Some("\"anon-1\"")),
            Some(true)
        );
        assert_eq!(
            anonymous_id_copies_agree(cookies, Some("\"anon-2\"")),
            Some(false)
        );
        assert_eq!(anonymous_id_copies_agree(cookies, None), None);
        assert_eq!(anonymous_id_copies_agree("a=1", Some("\"anon-1\"")), None);
        // localStorage is not URL-decoded: "%41" there is three characters.
        assert_eq!(
            anonymous_id_copies_agree("ajs_anonymous_id=a%2541", Some("a%41")),
            Some(true)
        );
    }

    #[test]
    fn reads_all_three_forms() {
        for place in [Cookie, LocalStorage] {
            assert_eq!(parse_stored_id(UUID, place).as_deref(), Some(UUID));
            assert_eq!(
                parse_stored_id(&format!("\"{UUID}\""), place).as_deref(),
                Some(UUID)
            );
        }
        assert_eq!(
            parse_stored_id(&format!("%22{UUID}%22"), Cookie).as_deref(),
            Some(UUID)
        );
    }

    #[test]
    fn issue_22_an_id_in_local_storage_is_not_url_decoded() {
        // Found by the segment_ids fuzz target: analytics.js writes JSON.stringify(id) to
        // localStorage, unencoded; decoding it read "a%41b" as "aAb", another visitor than
        // Segment's. In a cookie, js-cookie writes the same ID as %22a%2541b%22.
        assert_eq!(
            parse_stored_id("\"a%41b\"", LocalStorage).as_deref(),
            Some("a%41b")
        );
        assert_eq!(
            parse_stored_id("a%2Fb", LocalStorage).as_deref(),
            Some("a%2Fb")
        );
        assert_eq!(
            parse_stored_id("%22a%2541b%22", Cookie).as_deref(),
            Some("a%41b")
        );
        assert_eq!(
            parse_stored_id("%22%22", LocalStorage).as_deref(),
            Some("%22%22")
        );
    }

    #[test]
    fn reads_encoded_user_ids() {
        assert_eq!(
            parse_stored_id("%22jane%40example.com%22", Cookie).as_deref(),
            Some("jane@example.com")
        );
        assert_eq!(
            parse_stored_id("jane%40example.com", Cookie).as_deref(),
            Some("jane@example.com")
        );
        for place in [Cookie, LocalStorage] {
            assert_eq!(
                parse_stored_id("\"a\\\"b\"", place).as_deref(),
                Some("a\"b")
            );
        }
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
            assert_eq!(parse_stored_id(stored, Cookie), None, "{stored:?}");
            if stored != "%22%22" {
                assert_eq!(parse_stored_id(stored, LocalStorage), None, "{stored:?}");
            }
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
        assert_eq!(parse_stored_id("50%", Cookie).as_deref(), Some("50%"));
        assert_eq!(parse_stored_id("%zz", Cookie).as_deref(), Some("%zz"));
        assert_eq!(parse_stored_id("%ff%fe", Cookie).as_deref(), Some("%ff%fe"));
        assert_eq!(parse_stored_id("%+4%-1", Cookie).as_deref(), Some("%+4%-1"));
    }

    proptest! {
        #[test]
        fn never_panics(s in ".*") {
            let _ = parse_stored_id(&s, Cookie);
            let _ = parse_stored_id(&s, LocalStorage);
            let _ = find_cookie(&s, "ajs_user_id");
        }

        #[test]
        fn every_form_round_trips(id in "[A-Za-z0-9@._-]{1,64}") {
            let json = serde_json::to_string(&id).unwrap();
            for place in [Cookie, LocalStorage] {
                prop_assert_eq!(parse_stored_id(&id, place), Some(id.clone()));
                prop_assert_eq!(parse_stored_id(&json, place), Some(id.clone()));
            }
            let encoded = json.replace('"', "%22").replace('@', "%40");
            prop_assert_eq!(parse_stored_id(&encoded, Cookie), Some(id));
        }
    }
}
