//! The bucketing engine's C ABI: what the second .wasm (`flagship_segment_bucketing.wasm`,
//! fetched only in `mode: "bucketing"`) exports to its loader, `js/bucketing-engine.js`.
//!
//! Design: the main module stays small by leaving the bucketing-file parser and the targeting and
//! allocation engine out; this module holds them and nothing else. It is `no_std` with a plain C
//! ABI rather than wasm-bindgen, so it carries no glue, no externref table and no exports but
//! these. Text crosses as UTF-8 bytes in the module's memory; numbers and non-ASCII lower-casing
//! come back from the loader through three `env` imports (`parse_f64`, `format_f64`,
//! `to_lower_case`; see `json/float_import.rs` and `bucketing/lowercase_import.rs`).
//!
//! The ABI (every length in bytes, every pointer into the exported `memory`):
//!
//! | export | meaning |
//! |---|---|
//! | `alloc(len) -> ptr` | `len` writable bytes for an argument (`len` 0 gives a dangling pointer) |
//! | `free(ptr, len)` | gives back what `alloc(len)` returned |
//! | `load(ptr, len) -> status` | parses a `bucketing.json` text and keeps it for `decide` |
//! | `decide(vid_ptr, vid_len, ctx_ptr, ctx_len) -> status` | decides for a visitor and context |
//! | `output_ptr() -> ptr`, `output_len() -> len` | the last call's answer or refusal reason |
//!
//! Arguments are borrowed: the caller writes them into `alloc`ed buffers and frees those after
//! the call. The output stays valid until the next `load` or `decide`. Memory may grow during
//! any call, so the caller takes a fresh view of `memory.buffer` after each one.
//!
//! Statuses ([`Status`]): 0 ok; otherwise the output holds a fixed reason (never file content).
//! A refused `load` keeps the file held before, as the browser module does with a broken poll.
//! `decide`'s context is the JSON object the Decision API would receive, `fs_users`, `fs_client`
//! and `fs_version` included; its answer is the `/campaigns` body
//! ([`write_decision`](crate::decision::write_decision) of [`decide`](crate::bucketing::decide)),
//! which the main module reads back like an API answer.
//!
//! The `extern "C"` functions are thin wrappers over [`Engine`], which the native tests exercise;
//! they are exported under their names on wasm32 only (natively, a `free` symbol would replace
//! libc's).

use alloc::string::String;

use crate::bucketing::{self, BucketingFile};
use crate::c_abi::bytes;
pub use crate::c_abi::{alloc, free};
use crate::context::{Context, ContextValue};
use crate::decision::write_decision;
use crate::error::Error;
use crate::json::{self, Value};

/// What `load` and `decide` return; anything but [`Status::Ok`] leaves a reason in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Status {
    /// Done: the output is the answer (`decide`) or empty (`load`).
    Ok = 0,
    /// `load`: the file is not of the documented shape (the output is the
    /// `BUCKETING_MALFORMED` reason, e.g. `campaigns is missing or not an array`).
    BucketingMalformed = 1,
    /// `decide` before any successful `load`.
    NoFile = 2,
    /// `decide`: the context is not a JSON object of strings, numbers and booleans.
    ContextMalformed = 3,
    /// An argument is not UTF-8 (not produced by a conforming loader, whose `TextEncoder` always
    /// writes UTF-8).
    NotUtf8 = 4,
}

/// The engine's state: the file in use and the last output.
#[derive(Debug, Default)]
pub struct Engine {
    file: Option<BucketingFile>,
    output: String,
}

impl Engine {
    /// An engine with no file.
    pub const fn new() -> Engine {
        Engine {
            file: None,
            output: String::new(),
        }
    }

    /// The last answer or refusal reason.
    pub fn output(&self) -> &str {
        &self.output
    }

    /// The file in use, if one was loaded.
    pub fn file(&self) -> Option<&BucketingFile> {
        self.file.as_ref()
    }

    /// Parses `text` as a bucketing file and keeps it; on refusal the file held stays in use.
    pub fn load(&mut self, text: &[u8]) -> Status {
        self.output.clear();
        let Ok(text) = core::str::from_utf8(text) else {
            return self.refuse(Status::NotUtf8, NOT_UTF8);
        };
        match bucketing::parse_bucketing(text) {
            Ok(file) => {
                self.file = Some(file);
                Status::Ok
            }
            Err(Error::BucketingMalformed(reason)) => {
                self.refuse(Status::BucketingMalformed, &reason)
            }
            // parse_bucketing refuses with BucketingMalformed only.
            Err(_) => self.refuse(Status::BucketingMalformed, "bucketing file refused"),
        }
    }

    /// Decides for `visitor_id` with the full `context` (a JSON object text); the output is the
    /// `/campaigns` answer.
    pub fn decide(&mut self, visitor_id: &[u8], context: &[u8]) -> Status {
        self.output.clear();
        let (Ok(visitor_id), Ok(context)) = (
            core::str::from_utf8(visitor_id),
            core::str::from_utf8(context),
        ) else {
            return self.refuse(Status::NotUtf8, NOT_UTF8);
        };
        let Some(file) = &self.file else {
            return self.refuse(Status::NoFile, "no bucketing file loaded");
        };
        match parse_context(context) {
            Ok(context) => {
                self.output = write_decision(&bucketing::decide(file, visitor_id, &context));
                Status::Ok
            }
            Err(reason) => self.refuse(Status::ContextMalformed, reason),
        }
    }

    fn refuse(&mut self, status: Status, reason: &str) -> Status {
        self.output.push_str(reason);
        status
    }
}

const NOT_UTF8: &str = "argument is not UTF-8";

/// Reads a context object: string, number and boolean members only, the last of a repeated key
/// winning (as `JSON.parse`). Anything else is refused with a fixed reason.
pub fn parse_context(text: &str) -> Result<Context, &'static str> {
    let Ok(Value::Object(members)) = json::parse(text) else {
        return Err("context is not a JSON object");
    };
    let mut context = Context::new();
    for (key, value) in members.0 {
        let value = match value {
            Value::String(text) => ContextValue::String(text),
            Value::Number(number) => ContextValue::Number(number),
            Value::Bool(flag) => ContextValue::Bool(flag),
            _ => return Err("context value is not a string, number or boolean"),
        };
        context.insert(key, value);
    }
    Ok(context)
}

/// The module's one engine. The wasm is single-threaded and the loader never re-enters it (its
/// imports do not call back), so a `static mut` reached only by the functions below is sound.
static mut ENGINE: Engine = Engine::new();

/// # Safety
/// No other reference to `ENGINE` may be alive: true inside each export, which does not re-enter.
unsafe fn engine() -> &'static mut Engine {
    // SAFETY: see above.
    unsafe { &mut *core::ptr::addr_of_mut!(ENGINE) }
}

/// [`Engine::load`] on the module's engine.
///
/// # Safety
/// `ptr` must be readable for `len` bytes.
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub unsafe extern "C" fn load(ptr: *const u8, len: usize) -> Status {
    // SAFETY: the caller's contract; the engine is not otherwise borrowed.
    unsafe { engine().load(bytes(ptr, len)) }
}

/// [`Engine::decide`] on the module's engine.
///
/// # Safety
/// Each pointer must be readable for its length.
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub unsafe extern "C" fn decide(
    visitor_ptr: *const u8,
    visitor_len: usize,
    context_ptr: *const u8,
    context_len: usize,
) -> Status {
    // SAFETY: the caller's contract; the engine is not otherwise borrowed.
    unsafe {
        engine().decide(
            bytes(visitor_ptr, visitor_len),
            bytes(context_ptr, context_len),
        )
    }
}

/// Where the last output starts.
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub extern "C" fn output_ptr() -> *const u8 {
    // SAFETY: the engine is not otherwise borrowed.
    unsafe { engine().output().as_ptr() }
}

/// The last output's length in bytes.
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub extern "C" fn output_len() -> usize {
    // SAFETY: the engine is not otherwise borrowed.
    unsafe { engine().output().len() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::parse_decision;
    use serde_json::json;

    const FIXTURE: &str = include_str!("../tests/fixtures/bucketing.json");
    const EXPECTED: &str = include_str!("../tests/fixtures/bucketing_expected.json");

    fn loaded() -> Engine {
        let mut engine = Engine::new();
        assert_eq!(
            engine.load(FIXTURE.as_bytes()),
            Status::Ok,
            "{}",
            engine.output()
        );
        engine
    }

    #[test]
    fn every_fixture_case_is_what_bucketing_decide_writes() {
        let file = bucketing::parse_bucketing(FIXTURE).unwrap();
        let mut engine = loaded();
        let expected: serde_json::Value = serde_json::from_str(EXPECTED).unwrap();
        let cases = expected["cases"].as_array().unwrap();
        assert!(cases.len() >= 10);
        for case in cases {
            let visitor_id = case["visitorId"].as_str().unwrap();
            let context_json = case["context"].to_string();
            let context = parse_context(&context_json).unwrap();
            let status = engine.decide(visitor_id.as_bytes(), context_json.as_bytes());
            assert_eq!(status, Status::Ok, "{}", engine.output());
            let want = write_decision(&bucketing::decide(&file, visitor_id, &context));
            assert_eq!(engine.output(), want, "case {}", case["name"]);
            // And the campaigns the fixture reasons out, read back as the main module would.
            let got: Vec<String> = parse_decision(engine.output())
                .unwrap()
                .campaigns
                .iter()
                .map(|c| format!("{}/{}/{}", c.id, c.variation_group_id, c.variation.id))
                .collect();
            let reasoned: Vec<String> = case["expected"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    format!(
                        "{}/{}/{}",
                        e["campaignId"].as_str().unwrap(),
                        e["variationGroupId"].as_str().unwrap(),
                        e["variationId"].as_str().unwrap()
                    )
                })
                .collect();
            assert_eq!(got, reasoned, "case {}", case["name"]);
        }
    }

    #[test]
    fn a_context_value_is_a_string_a_number_or_a_boolean() {
        let context = parse_context(r#"{"s":"été","n":-12.5e1,"i":3,"t":true,"f":false}"#).unwrap();
        assert_eq!(
            context,
            Context::from([
                ("s".into(), ContextValue::String("été".into())),
                ("n".into(), ContextValue::Number(-125.0)),
                ("i".into(), ContextValue::Number(3.0)),
                ("t".into(), ContextValue::Bool(true)),
                ("f".into(), ContextValue::Bool(false)),
            ])
        );
        assert_eq!(parse_context(" {} "), Ok(Context::new()));
        assert_eq!(
            parse_context(r#"{"k":"a","k":"b"}"#).unwrap()["k"],
            ContextValue::String("b".into())
        );
    }

    #[test]
    fn a_context_that_is_not_a_flat_object_is_refused() {
        for text in ["", "[]", "null", "\"plan\"", "42", "{", r#"{"a":1} x"#] {
            assert_eq!(
                parse_context(text),
                Err("context is not a JSON object"),
                "{text:?}"
            );
        }
        for text in [
            r#"{"a":{"b":1}}"#,
            r#"{"a":[1]}"#,
            r#"{"a":[]}"#,
            r#"{"a":null}"#,
            r#"{"ok":1,"a":{}}"#,
        ] {
            assert_eq!(
                parse_context(text),
                Err("context value is not a string, number or boolean"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_malformed_file_is_refused_with_its_reason_and_the_held_file_stays() {
        let mut engine = Engine::new();
        assert_eq!(
            engine.load(b"{\"campaigns\": 3}"),
            Status::BucketingMalformed
        );
        assert_eq!(engine.output(), "campaigns is missing or not an array");
        assert!(engine.file().is_none());
        assert_eq!(engine.load(b"not json"), Status::BucketingMalformed);
        assert_eq!(engine.output(), "body is not JSON");

        let mut engine = loaded();
        assert_eq!(engine.output(), "");
        let held = engine.file().cloned();
        assert_eq!(engine.load(b"[]"), Status::BucketingMalformed);
        assert_eq!(engine.output(), "body is not a JSON object");
        assert_eq!(engine.file().cloned(), held);
        assert_eq!(engine.decide(b"8um", b"{}"), Status::Ok);
    }

    #[test]
    fn deciding_needs_a_file_and_a_valid_context() {
        let mut engine = Engine::new();
        assert_eq!(engine.decide(b"v", b"{}"), Status::NoFile);
        assert_eq!(engine.output(), "no bucketing file loaded");
        let mut engine = loaded();
        assert_eq!(engine.decide(b"v", b"{\"a\":[]}"), Status::ContextMalformed);
        assert_eq!(
            engine.output(),
            "context value is not a string, number or boolean"
        );
        assert_eq!(engine.decide(b"v", b"[]"), Status::ContextMalformed);
        assert_eq!(engine.decide(b"\xff", b"{}"), Status::NotUtf8);
        assert_eq!(engine.output(), "argument is not UTF-8");
        assert_eq!(engine.load(b"\xc3"), Status::NotUtf8);
    }

    #[test]
    fn panic_mode_answers_panic() {
        let mut engine = Engine::new();
        let file = json!({"panic": true, "campaigns": []}).to_string();
        assert_eq!(engine.load(file.as_bytes()), Status::Ok);
        assert_eq!(engine.decide("visitör".as_bytes(), b"{}"), Status::Ok);
        assert_eq!(
            engine.output(),
            r#"{"visitorId":"visitör","campaigns":[],"panic":true}"#
        );
    }

    /// The exported functions, driven as the loader drives them. The only test that touches the
    /// module's static engine (tests run on several threads).
    #[test]
    fn the_c_abi_round_trips_text_through_buffers() {
        fn put(text: &[u8]) -> (*mut u8, usize) {
            let ptr = alloc(text.len());
            // SAFETY: `ptr` has `text.len()` writable bytes.
            unsafe { core::ptr::copy_nonoverlapping(text.as_ptr(), ptr, text.len()) };
            (ptr, text.len())
        }
        fn output() -> String {
            // SAFETY: the output is valid until the next call.
            let bytes = unsafe { bytes(output_ptr(), output_len()) };
            String::from_utf8(bytes.to_vec()).unwrap()
        }
        unsafe {
            let (vid, vid_len) = put(b"8um");
            let (ctx, ctx_len) = put(br#"{"plan":"PRO","country":"fr"}"#);
            assert_eq!(decide(vid, vid_len, ctx, ctx_len), Status::NoFile);
            assert_eq!(output(), "no bucketing file loaded");

            let (bad, bad_len) = put(b"{\"panic\": 1}");
            assert_eq!(load(bad, bad_len), Status::BucketingMalformed);
            assert_eq!(output(), "panic is not a boolean");
            free(bad, bad_len);

            let (file, file_len) = put(FIXTURE.as_bytes());
            assert_eq!(load(file, file_len), Status::Ok);
            assert_eq!(output(), "");
            free(file, file_len);

            assert_eq!(decide(vid, vid_len, ctx, ctx_len), Status::Ok);
            let decision = parse_decision(&output()).unwrap();
            assert_eq!(decision.visitor_id, "8um");
            assert_eq!(decision.campaigns[0].variation.id, "v_equality_on");
            free(vid, vid_len);
            free(ctx, ctx_len);

            let (empty, empty_len) = put(b"");
            assert_eq!(load(empty, empty_len), Status::BucketingMalformed);
            free(empty, empty_len);
        }
    }
}
