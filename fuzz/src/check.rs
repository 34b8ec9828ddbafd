//! One function per fuzz target: it feeds `data` to the module's readers and asserts the
//! properties below. A failed assertion (or any panic, overflow or out-of-bounds access) is what
//! libFuzzer reports as a crash.
//!
//! Every reader must, on any bytes: not panic; refuse with its documented error; and read back
//! what it writes (round trip). The JSON readers also accept exactly what `JSON.parse` accepts
//! (see `reference.rs`) and read the same values.

use std::str;

use flagship_segment::bucketing::{self, parse_bucketing};
use flagship_segment::bucketing_engine::{parse_context, Engine, Status};
use flagship_segment::config::{EnsureSegmentKnows, IdPolicy};
use flagship_segment::decision::cache::DecisionCache;
use flagship_segment::decision::initial::parse_initial_decision;
use flagship_segment::decision::model::parse_error_message;
use flagship_segment::decision::rate_limit;
use flagship_segment::decision::{
    parse_decision, write_decision, Decision, FlagStore, ReadOutcome, ValueKind,
};
use flagship_segment::identity::{find_cookie, parse_stored_id, StoredIn, VisitorId};
use flagship_segment::json::{self, ParseError, Value, MAX_DEPTH};
use flagship_segment::server::identity_from_cookies;
use flagship_segment::tracking::gate::{IdentityKey, SeenGate};
use flagship_segment::tracking::{stored, ExposureLog, Kind};
use flagship_segment::wire::{parse_retry_after, MAX_RETRY_AFTER_MS};

use crate::reference::{self, encode_uri_component, json_stringify, Normal};

/// The module only ever reads text: the browser hands it JS strings, the loaders UTF-8.
fn text(data: &[u8]) -> Option<&str> {
    str::from_utf8(data).ok()
}

fn written(value: &Value) -> String {
    let mut out = String::new();
    json::write_value(&mut out, value);
    out
}

fn assert_numbers_finite(value: &Value) {
    match value {
        Value::Number(n) => assert!(n.is_finite(), "a parsed number is {n}"),
        Value::Array(items) => items.iter().for_each(assert_numbers_finite),
        Value::Object(object) => object.iter().for_each(|(_, v)| assert_numbers_finite(v)),
        _ => {}
    }
}

/// `json::parse`: never panics; accepts what `JSON.parse` accepts (up to [`MAX_DEPTH`] levels)
/// and nothing else; reads the same values as serde_json where serde_json reads one; every
/// number it gives is finite; what it reads is written back to a text that reads the same.
pub fn json_parse(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let accepted = reference::json_parse_accepts(text);
    match json::parse(text) {
        Ok(value) => {
            assert!(accepted, "accepted what JSON.parse refuses: {text:?}");
            assert_numbers_finite(&value);
            let out = written(&value);
            let again = json::parse(&out);
            assert_eq!(again.as_ref(), Ok(&value), "{text:?} written as {out:?}");
            if let Ok(reference) = serde_json::from_str::<serde_json::Value>(text) {
                assert_eq!(Normal::from(&value), Normal::from(&reference), "{text:?}");
            }
        }
        Err(error) if accepted => {
            assert_eq!(
                error,
                ParseError("nested deeper than 64 levels"),
                "{text:?}"
            );
            assert!(reference::depth(text) > MAX_DEPTH, "{text:?}");
        }
        Err(_) => {}
    }
}

/// The `/campaigns` answer and what else arrives with it or in its shape (an error body's
/// message, a `Retry-After` header, an `initialDecision`): never panics; refuses only with `DECISION_MALFORMED`; an answer whose
/// top level is right is never refused, whatever its campaigns hold; what it reads is written
/// back (as the emulator and the bucketing engine write answers) and reads the same; flag reads
/// agree with `getFlags()`'s listing.
pub fn decision_answer(data: &[u8]) {
    let Some(text) = text(data) else { return };
    match parse_decision(text) {
        Ok(decision) => {
            assert!(json::parse(text).is_ok(), "{text:?}");
            assert!(!decision.panic || decision.campaigns.is_empty());
            let out = write_decision(&decision);
            let again = parse_decision(&out).expect("an answer we wrote reads back");
            let expected = Decision {
                skipped_campaigns: 0,
                ..decision.clone()
            };
            assert_eq!(again, expected, "{text:?} written as {out:?}");
            flags(decision);
        }
        Err(error) => {
            assert_eq!(error.code(), "DECISION_MALFORMED", "{error:?}");
            assert!(!top_level_is_right(text), "refused {text:?}: {error:?}");
        }
    }
    if let Some(message) = parse_error_message(text) {
        assert!(message.chars().count() <= 200);
    }
    if let Some(wait) = parse_retry_after(text) {
        assert!((0.0..=MAX_RETRY_AFTER_MS).contains(&wait));
    }
    match parse_initial_decision(text) {
        Ok(initial) => {
            let body = json::parse(&initial.body).expect("the kept body is JSON");
            assert!(body.as_object().is_some());
            let _ = parse_decision(&initial.body);
        }
        Err(error) => assert_eq!(error.code(), "DECISION_MALFORMED", "{error:?}"),
    }
}

/// What [`parse_decision`] requires of the top level: an object (within the size limit) with
/// a string `visitorId`, a boolean or absent `panic`, and a `campaigns` array (or, in panic
/// mode, none).
fn top_level_is_right(text: &str) -> bool {
    if text.len() > flagship_segment::decision::model::MAX_BODY_BYTES {
        return false;
    }
    let Ok(Value::Object(top)) = json::parse(text) else {
        return false;
    };
    let panic = match top.get("panic") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(panic)) => *panic,
        Some(_) => return false,
    };
    let campaigns = match top.get("campaigns") {
        Some(Value::Array(_)) => true,
        None | Some(Value::Null) => panic,
        Some(_) => false,
    };
    matches!(top.get("visitorId"), Some(Value::String(_))) && campaigns
}

const KINDS: [ValueKind; 6] = [
    ValueKind::Bool,
    ValueKind::Number,
    ValueKind::String,
    ValueKind::Array,
    ValueKind::Object,
    ValueKind::Any,
];

fn kind_of(value: &Value) -> Option<ValueKind> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(_) => ValueKind::Bool,
        Value::Number(_) => ValueKind::Number,
        Value::String(_) => ValueKind::String,
        Value::Array(_) => ValueKind::Array,
        Value::Object(_) => ValueKind::Object,
    })
}

/// Reads of every key a campaign sets: the first campaign that sets a key decides it, a read
/// returns a value only of the asked type (never `null`), exposes unless the type is wrong, and
/// `values()` (`getFlags()`, the `flags` event) lists exactly what `read(key, Any)` returns.
fn flags(decision: Decision) {
    let store = FlagStore::new(decision);
    for campaign in store.campaigns() {
        for (key, _) in campaign.variation.modifications.value.iter() {
            let (index, first) = store.campaign_of(key).expect("a key set is found");
            let value = first.variation.modifications.value.get(key).expect("set");
            for kind in KINDS {
                let read = store.read(key, kind);
                match read.outcome {
                    ReadOutcome::Value => {
                        let read_value = read.value.expect("a value");
                        assert_eq!(read_value, value);
                        assert!(kind == ValueKind::Any || kind_of(read_value) == Some(kind));
                        assert_eq!(read.expose, Some(index));
                    }
                    ReadOutcome::NullValue => {
                        assert!(value.is_null() && read.value.is_none());
                        assert_eq!(read.expose, Some(index));
                    }
                    ReadOutcome::TypeMismatch => {
                        assert!(kind != ValueKind::Any && kind_of(value) != Some(kind));
                        assert_eq!((read.value, read.expose), (None, None));
                    }
                    ReadOutcome::Missing => panic!("{key:?} is set but missing"),
                }
            }
        }
    }
    let mut listed: Vec<(&str, &Value)> = store.values().collect();
    let mut read: Vec<(&str, &Value)> = store
        .campaigns()
        .iter()
        .flat_map(|c| c.variation.modifications.value.keys())
        .filter_map(|key| Some((key, store.read(key, ValueKind::Any).value?)))
        .collect();
    listed.sort_by(|a, b| a.0.cmp(b.0));
    read.sort_by(|a, b| a.0.cmp(b.0));
    read.dedup_by(|a, b| a.0 == b.0);
    assert_eq!(
        listed, read,
        "getFlags() lists what getFlag() reads, each key once"
    );
}

const VISITORS: [&str; 3] = ["visitor-1", "9f1c1b0e-2f44-4c57-9d0c-7c0d6a2e1f11", ""];
const CONTEXTS: [&str; 2] = [
    "{}",
    r#"{"fs_users":"visitor-1","fs_client":"flagship-segment","plan":"pro","age":30,"vip":true}"#,
];

/// The bucketing file through the bucketing engine's ABI logic (what the second .wasm runs).
/// The input is the file, optionally followed by a NUL byte and a context text (JSON never
/// holds a raw NUL). Never panics; a refused file leaves the engine as it was, with a reason;
/// an accepted one decides for several visitors and contexts, always the same way, and each
/// answer reads back in the main module ([`parse_decision`]) as the decision made.
pub fn bucketing_file(data: &[u8]) {
    let (file, context) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    };
    let mut engine = Engine::new();
    let status = engine.load(file);
    let parsed = str::from_utf8(file).map(parse_bucketing);
    assert_eq!(status == Status::Ok, matches!(parsed, Ok(Ok(_))));
    if status != Status::Ok {
        assert!(!engine.output().is_empty() && engine.file().is_none());
        return;
    }
    let kept = engine.file().cloned().expect("loaded");
    assert_eq!(engine.load(b"not a file"), Status::BucketingMalformed);
    assert_eq!(engine.file(), Some(&kept), "a refused load keeps the file");
    let mut contexts: Vec<&[u8]> = CONTEXTS.iter().map(|c| c.as_bytes()).collect();
    contexts.extend(context);
    for context in contexts {
        let parsed_context = str::from_utf8(context).ok().map(parse_context);
        let mut visitors: Vec<String> = VISITORS.iter().map(|v| v.to_string()).collect();
        if let Some(Ok(c)) = &parsed_context {
            if let Some(flagship_segment::context::ContextValue::String(id)) = c.get("fs_users") {
                visitors.push(id.clone());
            }
        }
        for visitor in &visitors {
            let status = engine.decide(visitor.as_bytes(), context);
            let Some(Ok(parsed_context)) = &parsed_context else {
                assert_ne!(status, Status::Ok);
                continue;
            };
            assert_eq!(status, Status::Ok, "{}", engine.output());
            let answer = engine.output().to_owned();
            let decision = parse_decision(&answer).expect("the main module reads the answer");
            let direct = bucketing::decide(&kept, visitor, parsed_context);
            assert_eq!(decision, direct, "{answer}");
            assert_eq!(&decision.visitor_id, visitor);
            assert_eq!(decision.panic, kept.panic());
            assert_eq!(engine.decide(visitor.as_bytes(), context), Status::Ok);
            assert_eq!(
                engine.output(),
                answer,
                "the same visitor decides the same way"
            );
            flags(decision);
        }
    }
}

/// The stored forms of the delivery queues (`{"v":1,"items":[…]}`), of the exposures already
/// sent and of the seen-by-Segment markers: never panic; what they read is written back and
/// reads the same; a queue cut to a byte budget keeps its newest entries.
pub fn stored_queue(data: &[u8]) {
    let Some(text) = text(data) else { return };
    for kind in [Kind::Hit, Kind::Activation] {
        // Stored as times of day: with the page's clock and the wall clock agreeing (an offset
        // of 0), what is read is written back exactly.
        let Ok(entries) = stored::decode(kind, text, 0.0) else {
            continue;
        };
        let (out, skipped) = stored::encode(&entries, usize::MAX, 0.0);
        assert_eq!(skipped, 0);
        assert_eq!(
            stored::decode(kind, &out, 0.0).as_ref(),
            Ok(&entries),
            "{out}"
        );
        let budget = out.len() / 2;
        let (short, skipped) = stored::encode(&entries, budget, 0.0);
        assert!(short.len() <= budget.max(32), "{} > {budget}", short.len());
        let kept = stored::decode(kind, &short, 0.0).expect("a cut queue reads back");
        assert_eq!(kept[..], entries[skipped..]);
    }
    for (window, now) in [(1_800_000.0, 0.0), (f64::INFINITY, 1.7e12)] {
        if let Ok(log) = ExposureLog::decode(text, window, now, 0.0) {
            let out = log.encode(now, 0.0);
            let again =
                ExposureLog::decode(&out, window, now, 0.0).expect("written exposures read");
            assert_eq!(again.encode(now, 0.0), out);
        }
    }
    let mut gate = SeenGate::new(EnsureSegmentKnows::Wait, 5000.0);
    if gate.restore(text).is_ok() {
        let out = gate.encode();
        let mut again = SeenGate::new(EnsureSegmentKnows::Wait, 5000.0);
        again.restore(&out).expect("written markers read");
        assert_eq!(again.encode(), out);
    }
    if let Some(key) = IdentityKey::decode(text) {
        assert_eq!(IdentityKey::decode(&key.encode()), Some(key));
    }
}

/// The stored decisions (`{"v":2,"entries":[…]}`) and the stored rate limit: never panic; what
/// they read is written back and reads the same.
pub fn stored_decisions(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(cache) = DecisionCache::decode(text) {
        let out = cache.encode();
        assert_eq!(DecisionCache::decode(&out).as_ref(), Ok(&cache), "{out}");
        for policy in [IdPolicy::UserThenAnonymous, IdPolicy::Anonymous] {
            let ids = flagship_segment::identity::SegmentIds {
                user_id: Some("U".into()),
                anonymous_id: Some("A".into()),
            };
            let identity = flagship_segment::identity::resolve(&ids, policy).expect("valid IDs");
            let _ = cache.lookup(&identity, 1.7e12);
            let _ = cache.lookup_same(&identity, "{}", 1.7e12);
        }
    }
    if let Some(until) = rate_limit::decode(text) {
        assert!(until.is_finite() && until >= 0.0);
        assert_eq!(rate_limit::decode(&rate_limit::encode(until)), Some(until));
    }
}

/// Segment's stored IDs (`ajs_user_id`, `ajs_anonymous_id`) as cookies and localStorage hold
/// them: never panic; an ID read is never empty; a cookie found is a trimmed part of the jar;
/// and an ID (the input itself) written in each form Segment writes reads back as itself.
pub fn segment_ids(data: &[u8]) {
    let Some(text) = text(data) else { return };
    for place in [StoredIn::Cookie, StoredIn::LocalStorage] {
        if let Some(id) = parse_stored_id(text, place) {
            assert!(!id.is_empty());
        }
    }
    for name in ["ajs_user_id", "ajs_anonymous_id"] {
        if let Some(value) = find_cookie(text, name) {
            assert!(text.contains(value) && value.trim() == value);
        }
    }
    for policy in [IdPolicy::UserThenAnonymous, IdPolicy::Anonymous] {
        if let Ok(Some(identity)) = identity_from_cookies(text, policy) {
            assert!(VisitorId::parse(identity.visitor_id()).is_ok());
        }
    }
    let _ = VisitorId::parse(text);
    if text.is_empty() {
        return;
    }
    // localStorage: JSON.stringify(id), as analytics.js writes it.
    let quoted = json_stringify(text);
    assert_eq!(
        parse_stored_id(&quoted, StoredIn::LocalStorage).as_deref(),
        Some(text),
        "{quoted:?}"
    );
    // A cookie: the same, URI-encoded (js-cookie encodes every character that needs it).
    let cookie = encode_uri_component(&quoted);
    assert_eq!(
        parse_stored_id(&cookie, StoredIn::Cookie).as_deref(),
        Some(text),
        "{cookie:?}"
    );
    let jar = format!("ajs_user_id={cookie}; ajs_anonymous_id={cookie}");
    assert_eq!(find_cookie(&jar, "ajs_anonymous_id"), Some(cookie.as_str()));
    if let (Ok(id), Ok(Some(identity))) = (
        VisitorId::parse(text),
        identity_from_cookies(&jar, IdPolicy::Anonymous),
    ) {
        assert_eq!(identity.visitor_id(), id.as_str());
    }
}

/// The web build's first stage through its C ABI, as its loader drives it: the input is the
/// options, what the loader read of Segment and storage, and the Decision API's answer, three
/// texts split at the first two NUL bytes. Never panics; every answer it gives its loader is
/// JSON; a decision it hands the full module is one the full module reads. Then the full
/// module's engine takes in the same text as every stored key it restores (queues, exposures,
/// markers, decisions, a first stage's early record) and as the calls a first stage hands over:
/// never panics.
pub fn first_stage(data: &[u8]) {
    use flagship_segment::first_flag::exports;
    let mut parts = data.splitn(3, |b| *b == 0);
    let (options, reading, answer) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let output = || {
        // SAFETY: the module's output buffer, valid until its next call.
        let bytes =
            unsafe { std::slice::from_raw_parts(exports::output_ptr(), exports::output_len()) };
        String::from_utf8(bytes.to_vec()).expect("the stage writes UTF-8")
    };
    let is_json = |text: &str| serde_json::from_str::<serde_json::Value>(text).is_ok();
    if exports::configure(options.as_ptr(), options.len()) != 0 {
        assert!(is_json(&output()), "a refusal is JSON: {}", output());
        return;
    }
    assert!(
        is_json(&output()),
        "the configuration is JSON: {}",
        output()
    );
    if exports::decide(reading.as_ptr(), reading.len(), 1.7e12) != 1 {
        assert!(is_json(&output()), "a plan is JSON: {}", output());
    }
    let extra = b"{}";
    exports::answer(
        0,
        200,
        answer.as_ptr(),
        answer.len(),
        extra.as_ptr(),
        extra.len(),
        1.7e12,
    );
    exports::read(answer.as_ptr(), answer.len().min(64), 0);
    // A hit call and an identity asked with the answer's text as their input.
    for (code, what) in [
        (
            exports::check_hit(answer.as_ptr(), answer.len()),
            "a hit check",
        ),
        (
            exports::identity_now(answer.as_ptr(), answer.len()),
            "an identity",
        ),
    ] {
        if code != 2 {
            assert!(is_json(&output()), "{what} is JSON: {}", output());
        }
    }
    exports::report();
    let report: serde_json::Value = serde_json::from_str(&output()).expect("the report is JSON");
    if let Some(initial) = report.get("initialDecision").filter(|v| !v.is_null()) {
        parse_initial_decision(&initial.to_string()).expect("the full module reads its decision");
    }
    if let Some(text) = self::text(answer) {
        restore_everything_from(text);
    }
}

/// An engine restoring `text` under every key it reads at restore.
fn restore_everything_from(text: &str) {
    use flagship_segment::config::Config;
    use flagship_segment::engine::{Engine, StoredState};
    struct Store<'a>(&'a str);
    impl StoredState for Store<'_> {
        fn tab_id(&self) -> String {
            "t".into()
        }
        fn get(&self, _name: &str) -> Option<String> {
            Some(self.0.into())
        }
        fn names(&self) -> Vec<String> {
            [
                "queue:t",
                "queue:other",
                "exposures",
                "seen",
                "decisions",
                "early:t:p",
                "early:o:p",
            ]
            .map(String::from)
            .to_vec()
        }
    }
    let mut engine = Engine::new(Config::default(), 7);
    engine.set_wall_clock(1.7e12, 1.7e12);
    engine.handle_restore(1.7e12, &Store(text));
    engine.handle_stage_calls(1.7e12, text);
    while engine.poll_effect().is_some() {}
}
