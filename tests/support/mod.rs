//! Shared helpers of the browser suites: JS fakes and small Rust wrappers around them.

#![allow(dead_code)]

use std::cell::RefCell;

use flagship_segment::FlagshipSegment;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(module = "/tests/support/fakes.js")]
extern "C" {
    #[wasm_bindgen(js_name = fetchInstall)]
    pub fn fetch_install();
    #[wasm_bindgen(js_name = fetchRoute)]
    fn fetch_route(matcher: &str, replies: &str);
    #[wasm_bindgen(js_name = fetchCalls)]
    fn fetch_calls() -> String;
    #[wasm_bindgen(js_name = sleep)]
    fn sleep_promise(ms: u32) -> js_sys::Promise;
    #[wasm_bindgen(js_name = runningModules)]
    pub fn running_modules() -> u32;
    #[wasm_bindgen(js_name = resourceEntryDelivered)]
    fn resource_entry_delivered_promise(url: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = segmentApiOnThisServer)]
    fn segment_api_on_this_server_promise(
        instance: &JsValue,
        request: Option<String>,
    ) -> js_sys::Promise;
    #[wasm_bindgen(js_name = clearAnalytics)]
    pub fn clear_analytics(key: &str);
    #[wasm_bindgen(js_name = installLoaded)]
    pub fn install_loaded(key: &str, user_id: Option<String>, anonymous_id: Option<String>);
    #[wasm_bindgen(js_name = installStub)]
    pub fn install_stub(
        key: &str,
        load_after_ms: i32,
        user_id: Option<String>,
        anonymous_id: Option<String>,
    );
    #[wasm_bindgen(js_name = installClassic)]
    pub fn install_classic(
        key: &str,
        init_after_ms: i32,
        user_id: Option<String>,
        anonymous_id: Option<String>,
    );
    #[wasm_bindgen(js_name = installNumericUser)]
    pub fn install_numeric_user(key: &str, user_id: f64, anonymous_id: &str);
    #[wasm_bindgen(js_name = npmInstance)]
    pub fn npm_instance(
        resolve_after_ms: i32,
        user_id: Option<String>,
        anonymous_id: Option<String>,
    ) -> JsValue;
    #[wasm_bindgen(js_name = setCookie)]
    pub fn set_cookie(name: &str, value: &str);
    #[wasm_bindgen(js_name = setLocal)]
    pub fn set_local(name: &str, value: &str);
    #[wasm_bindgen(js_name = getLocal)]
    pub fn get_local(name: &str) -> Option<String>;
    #[wasm_bindgen(js_name = clearStorage)]
    pub fn clear_storage();
    #[wasm_bindgen(js_name = cookies)]
    pub fn cookies() -> String;
    #[wasm_bindgen(js_name = consoleCapture)]
    pub fn console_capture();
    #[wasm_bindgen(js_name = consoleLines)]
    fn console_lines_json() -> String;
    #[wasm_bindgen(js_name = installScripted)]
    pub fn install_scripted(key: &str, anonymous_id: &str, identify_event_delay_ms: u32)
        -> JsValue;
    #[wasm_bindgen(js_name = installEmitting)]
    pub fn install_emitting(key: &str, anonymous_id: &str, synchronous: bool) -> JsValue;
    #[wasm_bindgen(js_name = installScriptedLater)]
    pub fn install_scripted_later(
        key: &str,
        anonymous_id: &str,
        identify_event_delay_ms: u32,
        after_ms: u32,
    ) -> js_sys::Promise;
    /// Forgets the scripted routes but keeps the recorded calls.
    #[wasm_bindgen(js_name = reroute)]
    pub fn reroute();
    #[wasm_bindgen(js_name = call, variadic)]
    fn call_method(target: &JsValue, method: &str, args: &js_sys::Array) -> JsValue;
    #[wasm_bindgen(js_name = recorder)]
    pub fn recorder() -> js_sys::Function;
    #[wasm_bindgen(js_name = recorded)]
    fn recorded_json(f: &js_sys::Function) -> String;
    #[wasm_bindgen(js_name = throwingListener)]
    pub fn throwing_listener() -> js_sys::Function;
    #[wasm_bindgen(js_name = clockShift)]
    pub fn clock_shift(ms: f64);
    #[wasm_bindgen(js_name = clockReset)]
    pub fn clock_reset();
    #[wasm_bindgen(js_name = breakStorage)]
    pub fn break_storage();
    #[wasm_bindgen(js_name = fixStorage)]
    pub fn fix_storage();
    #[wasm_bindgen(js_name = moduleKeys)]
    fn module_keys_json() -> String;
    #[wasm_bindgen(js_name = dispatchPagehide)]
    pub fn dispatch_pagehide();
    #[wasm_bindgen(js_name = trackedJson)]
    fn tracked_json(instance: &JsValue) -> String;
    #[wasm_bindgen(js_name = wasmUrl)]
    fn wasm_url(bytes: &[u8]) -> String;
    #[wasm_bindgen(js_name = throwingObject)]
    pub fn throwing_object() -> JsValue;
    #[wasm_bindgen(js_name = symbolValue)]
    pub fn symbol_value() -> JsValue;
}

/// Gives a fake instance analytics-next's `Segment.io` destination, its API on the test server;
/// with `request` (a path below the API, `p` for a page call), a request there completes first
/// (what the snippet's `page()` leaves), and its URL is returned.
pub async fn segment_api_on_this_server(
    instance: &JsValue,
    request: Option<&str>,
) -> Option<String> {
    let request = request.map(String::from);
    wasm_bindgen_futures::JsFuture::from(segment_api_on_this_server_promise(instance, request))
        .await
        .unwrap()
        .as_string()
}

/// Returns once the Resource Timing entry of `url` has been handed to every `PerformanceObserver`
/// observing now (a module's watch of Segment's calls among them).
pub async fn resource_entry_delivered(url: &str) {
    JsFuture::from(resource_entry_delivered_promise(url))
        .await
        .unwrap();
}

/// One request the module sent, as the fake fetch saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub url: String,
    pub method: String,
    pub headers: Value,
    pub body: Value,
    pub keepalive: bool,
    pub aborted: bool,
}

/// Every request sent since `fetch_install`.
pub fn calls() -> Vec<Call> {
    let raw: Vec<Value> = serde_json::from_str(&fetch_calls()).unwrap();
    raw.into_iter()
        .map(|c| Call {
            url: c["url"].as_str().unwrap().to_owned(),
            method: c["method"].as_str().unwrap().to_owned(),
            headers: c["headers"].clone(),
            body: c["body"]
                .as_str()
                .map_or(Value::Null, |b| serde_json::from_str(b).unwrap()),
            keepalive: c["keepalive"].as_bool().unwrap(),
            aborted: c["aborted"].as_bool().unwrap(),
        })
        .collect()
}

/// Requests whose URL contains `part`.
pub fn calls_to(part: &str) -> Vec<Call> {
    calls()
        .into_iter()
        .filter(|c| c.url.contains(part))
        .collect()
}

/// Scripts the answers for URLs containing `matcher`; the last reply repeats.
pub fn route(matcher: &str, replies: Value) {
    fetch_route(matcher, &replies.to_string());
}

/// A 200 `/campaigns` answer for `visitor` with the standard test campaigns
/// (`tests/fixtures/standard_campaigns.json`, which the engine's native tests decide too).
pub fn decision_for(visitor: &str) -> Value {
    let campaigns: Value =
        serde_json::from_str(include_str!("../fixtures/standard_campaigns.json")).unwrap();
    let body = json!({"visitorId": visitor, "campaigns": campaigns});
    json!({"status": 200, "body": body.to_string()})
}

/// Console lines written since `console_capture`.
pub fn console_lines() -> Vec<String> {
    serde_json::from_str(&console_lines_json()).unwrap()
}

async fn sleep(ms: u32) {
    JsFuture::from(sleep_promise(ms)).await.unwrap();
}

/// Waits until `done` holds, checking every 10 ms; panics with `what` after 10 s. Tests wait on
/// conditions, not on fixed sleeps: the page's timers run late on a loaded machine.
pub async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        sleep(10).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Builds an options object from JSON, optionally with an analytics instance.
pub fn options(value: Value) -> JsValue {
    let json = value.to_string();
    js_sys::JSON::parse(&json).unwrap()
}

/// Options pointing at a test host with short timeouts.
pub fn base_options() -> Value {
    json!({
        "envId": "env_test", "apiKey": "key_test_123456",
        "endpoints": {"decision": "https://decision.test", "events": "https://events.test"},
        "segmentTimeoutMs": 300, "timeoutMs": 300, "logLevel": "none",
        // The seen-by-Segment gate has its own suite (web_gate.rs); the others test what is sent.
        "ensureSegmentKnows": "off"
    })
}

thread_local! {
    /// Page handles made by [`page_handle`] or [`plugin_module`]: JS holds them, so their modules
    /// run until closed.
    static OPEN_PAGE_HANDLES: RefCell<Vec<JsValue>> = const { RefCell::new(Vec::new()) };
}

/// `fs` as the page holds it (`start()`'s instance, whose repeated reads are answered in JS);
/// the next [`reset`] closes it unless the test did, and lets go of it.
pub fn page_handle(fs: FlagshipSegment) -> JsValue {
    let page = fs.into_page_handle();
    OPEN_PAGE_HANDLES.with(|open| open.borrow_mut().push(page.clone()));
    page
}

/// The module a plugin started (its `flagship` promise's value): the next [`reset`] closes it
/// unless the test did. The plugin object keeps it for the page's life; closed, it no longer
/// listens to the page.
pub fn plugin_module(page: &JsValue) {
    OPEN_PAGE_HANDLES.with(|open| open.borrow_mut().push(page.clone()));
}

/// `close()` on a page handle, awaited.
pub async fn close_page(page: &JsValue) {
    JsFuture::from(js_sys::Promise::from(call(page, "close", &[])))
        .await
        .unwrap();
}

/// Sends what `fs` has queued and returns once it is sent: afterwards, whatever a step queued
/// has reached the fake fetch, so "nothing was sent" is a fact, not a wait that was long enough.
pub async fn flushed(fs: &FlagshipSegment) {
    JsFuture::from(fs.flush()).await.unwrap();
}

/// [`flushed`] on a page handle.
pub async fn page_flushed(page: &JsValue) {
    JsFuture::from(js_sys::Promise::from(call(page, "flush", &[])))
        .await
        .unwrap();
}

/// Fresh page state for a test: fake fetch, no analytics, no stored IDs.
///
/// The suites share one page, so the modules an earlier test started must be stopped first, or
/// their sends and storage writes would land in this test. A module held in Rust stops when its
/// test returns and drops it; page handles are closed here (what they still send goes to the
/// earlier test's fake) and let go of (`free()`), which drops their module. Then no module may
/// be listening to the page any more (a closed module lets go of the page's events once its last
/// flush ends, src/browser/driver.rs).
pub async fn reset() {
    for page in OPEN_PAGE_HANDLES.with(|open| open.take()) {
        let status = js_sys::Reflect::get(&page, &"status".into()).unwrap();
        if status.as_string().as_deref() != Some("CLOSED") {
            close_page(&page).await;
        }
        call(&page, "free", &[]);
    }
    assert_eq!(
        running_modules(),
        0,
        "module(s) started by an earlier test still run: drop or close them before reset() \
         (or an earlier test failed before it could)"
    );
    clock_reset();
    fix_storage();
    fetch_install();
    clear_analytics("analytics");
    clear_analytics("segment");
    clear_storage();
}

pub fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

/// The message of a JS error.
pub fn message_of(error: &JsValue) -> String {
    js_sys::Reflect::get(error, &"message".into())
        .unwrap()
        .as_string()
        .unwrap_or_default()
}

/// The `code` property of a JS error.
pub fn code_of(error: &JsValue) -> String {
    js_sys::Reflect::get(error, &"code".into())
        .unwrap()
        .as_string()
        .unwrap_or_default()
}

/// Calls `target.method(...args)`.
pub fn call(target: &JsValue, method: &str, args: &[JsValue]) -> JsValue {
    call_method(target, method, &args.iter().collect())
}

/// What a `recorder()` listener was called with.
pub fn recorded(f: &js_sys::Function) -> Vec<Value> {
    serde_json::from_str(&recorded_json(f)).unwrap()
}

/// A `/campaigns` route that answers for whichever visitor was asked about.
pub fn echo(delay_ms: u32) -> Value {
    json!({"echo": true, "delayMs": delay_ms})
}

/// The module's localStorage keys.
pub fn module_keys() -> Vec<String> {
    serde_json::from_str(&module_keys_json()).unwrap()
}

/// What the scripted analytics instance was asked to `track`.
pub fn tracked(instance: &JsValue) -> Vec<Value> {
    serde_json::from_str(&tracked_json(instance)).unwrap()
}

/// Every hit the fake collector received, in order.
pub fn hits_sent() -> Vec<Value> {
    calls_to("events.test")
        .iter()
        .flat_map(|c| c.body["h"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// The bucketing engine `./run` builds (`build_engine`) before the browser suites are compiled.
const BUCKETING_ENGINE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/target/bucketing-engine/flagship_segment_bucketing.wasm"
));

/// A URL serving the bucketing engine, for the `bucketingEngineUrl` option: the test runner
/// serves only the suite's own files.
pub fn bucketing_engine_url() -> String {
    wasm_url(BUCKETING_ENGINE)
}
