//! Browser suite: following Segment identity changes (identify, reset, setAnonymousId), traits,
//! updateContext, page events, and the analytics-next plugin.
#![cfg(target_arch = "wasm32")]

mod support;

use flagship_segment::{flagship_segment_plugin, start, FlagshipSegment};
use serde_json::{json, Value};
use support::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Delay of the fake's `identify` event, like analytics-next's delivery delay.
const IDENTIFY_EVENT_MS: u32 = 40;

async fn scripted_start(opts: Value) -> (FlagshipSegment, JsValue) {
    reset().await;
    let analytics = install_scripted("analytics", "anon-1", IDENTIFY_EVENT_MS);
    route("/campaigns", json!([echo(0)]));
    route("/activate", json!([{"status": 204, "body": ""}]));
    route("events.test", json!([{"status": 200, "body": ""}]));
    let fs = start(options(opts)).await.unwrap();
    (fs, analytics)
}

fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

/// Reads `who` (exposing it), sends a hit, and lets both leave.
async fn read_and_expose(fs: &FlagshipSegment) -> Option<String> {
    let who = fs.get_flag(s("who"), s("nobody"), None).as_string();
    assert!(fs.track(s("step"), JsValue::UNDEFINED));
    JsFuture::from(fs.flush()).await.unwrap();
    who
}

/// Waits until the module has followed Segment to `visitor` and is READY with its flags.
async fn settled_for(fs: &FlagshipSegment, visitor: &str) {
    wait_until(&format!("READY for {visitor}"), || {
        fs.visitor_id().as_deref() == Some(visitor) && fs.status() == "READY"
    })
    .await;
}

fn last_body(part: &str) -> Value {
    calls_to(part).last().expect("a request").body.clone()
}

/// Every request since `from` (an index into `calls()`) carries exactly these IDs, laid out as
/// contract §2 says: decisions and activations `U` + `A`, hits `vid: A` + `cuid: U`.
fn all_since(from: usize, visitor: &str, anonymous: Option<&str>) {
    let (hit_vid, hit_cuid) = match anonymous {
        Some(a) => (a, Some(visitor)),
        None => (visitor, None),
    };
    let mut hits = 0;
    for call in &calls()[from..] {
        if call.url.contains("events.test") {
            for hit in call.body["h"].as_array().unwrap() {
                assert_eq!(hit["vid"], hit_vid, "{hit}");
                assert_eq!(hit["cuid"], json!(hit_cuid), "{hit}");
                hits += 1;
            }
        }
        if call.url.contains("/campaigns") {
            assert_eq!(call.body["visitor_id"], visitor, "{}", call.url);
            assert_eq!(call.body["anonymous_id"], json!(anonymous));
            assert_eq!(call.body["context"]["fs_users"], visitor);
        } else if call.url.contains("/activate") {
            for item in call.body["batch"].as_array().unwrap() {
                assert_eq!(item["vid"], visitor);
                assert_eq!(item["aid"], json!(anonymous));
            }
        }
    }
    assert!(hits > 0, "a hit was sent in this step");
}

/// Replaces the `/campaigns` replies with `replies`, in order.
fn support_route_replies(replies: &[Value]) {
    reroute();
    route("/campaigns", Value::Array(replies.to_vec()));
    route("/activate", json!([{"status": 204, "body": ""}]));
}

#[wasm_bindgen_test]
async fn page_reads_never_serve_a_value_decided_for_the_previous_identity() {
    for keep in [false, true] {
        let mut opts = base_options();
        opts["keepFlagsDuringRefresh"] = json!(keep);
        let (fs, analytics) = scripted_start(opts).await;
        let page = page_handle(fs);
        let who = |page: &JsValue| call(page, "getFlag", &[s("who"), s("nobody")]).as_string();
        let status = |page: &JsValue| {
            js_sys::Reflect::get(page, &s("status"))
                .unwrap()
                .as_string()
        };
        for _ in 0..3 {
            assert_eq!(who(&page).as_deref(), Some("anon-1"));
        }
        support_route_replies(&[echo(50)]);
        call(&analytics, "reset", &[]);
        // Segment's `reset` has fired; until the new decision, anon-1's flags are either gone or
        // (keepFlagsDuringRefresh) still shown but never exposed for the new visitor.
        let during = if keep { "anon-1" } else { "nobody" };
        assert_eq!(who(&page).as_deref(), Some(during), "keep: {keep}");
        wait_until("the new decision", || {
            status(&page).as_deref() == Some("READY")
        })
        .await;
        let visitor = js_sys::Reflect::get(&page, &s("visitorId"))
            .unwrap()
            .as_string();
        assert_ne!(visitor.as_deref(), Some("anon-1"));
        for _ in 0..3 {
            assert_eq!(who(&page), visitor, "keep: {keep}");
        }
        page_flushed(&page).await;
        let exposed_for: Vec<_> = calls_to("/activate")
            .iter()
            .flat_map(|call| call.body["batch"].as_array().unwrap().clone())
            .map(|item| item["vid"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            exposed_for,
            ["anon-1".to_owned(), visitor.unwrap()],
            "keep: {keep}"
        );
    }
}

#[wasm_bindgen_test]
async fn follows_identify_identify_reset_and_set_anonymous_id() {
    let (fs, analytics) = scripted_start(base_options()).await;
    let changes = recorder();
    fs.on(s("change"), changes.clone().into());

    // Anonymous.
    assert_eq!(fs.status(), "READY");
    assert_eq!(read_and_expose(&fs).await.as_deref(), Some("anon-1"));
    all_since(0, "anon-1", None);

    // identify(U): continuity, the anonymousId Segment had before identify rides along.
    let mark = calls().len();
    call(&analytics, "identify", &[s("user-U")]);
    settled_for(&fs, "user-U").await;
    assert_eq!(read_and_expose(&fs).await.as_deref(), Some("user-U"));
    assert_eq!(last_body("/campaigns")["visitor_id"], "user-U");
    assert_eq!(last_body("/activate")["batch"][0]["vid"], "user-U");
    all_since(mark, "user-U", Some("anon-1"));

    // identify(V): Segment rotates the anonymousId, and so do we.
    let mark = calls().len();
    call(&analytics, "identify", &[s("user-V")]);
    settled_for(&fs, "user-V").await;
    assert_eq!(read_and_expose(&fs).await.as_deref(), Some("user-V"));
    all_since(mark, "user-V", Some("anon-rotated-1"));

    // reset: the new anonymousId alone.
    let mark = calls().len();
    call(&analytics, "reset", &[]);
    settled_for(&fs, "anon-reset-2").await;
    assert_eq!(read_and_expose(&fs).await.as_deref(), Some("anon-reset-2"));
    all_since(mark, "anon-reset-2", None);

    // setAnonymousId fires nothing: the next exposure notices, re-decides, and only then exposes.
    let mark = calls().len();
    call(&analytics, "setAnonymousId", &[s("anon-custom")]);
    fs.get_flag(s("banner"), s("none"), None);
    settled_for(&fs, "anon-custom").await;
    assert_eq!(read_and_expose(&fs).await.as_deref(), Some("anon-custom"));
    all_since(mark, "anon-custom", None);
    assert_eq!(fs.visitor_id().as_deref(), Some("anon-custom"));

    let reasons: Vec<_> = recorded(&changes)
        .iter()
        .map(|c| c["reason"].clone())
        .collect();
    assert_eq!(
        reasons,
        [
            json!("identify"),
            json!("identify"),
            json!("reset"),
            json!("anonymous-id")
        ]
    );
    assert_eq!(
        recorded(&changes)[1],
        json!({"visitorId": "user-V", "anonymousId": "anon-rotated-1", "reason": "identify"})
    );
}

#[wasm_bindgen_test]
async fn traits_allowlist_goes_into_the_context() {
    let mut opts = base_options();
    opts["traits"] = json!(["plan", "age", "vip", "nested"]);
    let (fs, analytics) = scripted_start(opts).await;
    let traits = js_sys::JSON::parse(
        r#"{"plan":"pro","age":41,"vip":true,"nested":{"a":1},"email":"x@y.z"}"#,
    )
    .unwrap();
    call(&analytics, "identify", &[s("user-U"), traits]);
    settled_for(&fs, "user-U").await;
    let context = last_body("/campaigns")["context"].clone();
    assert_eq!(context["plan"], "pro");
    assert_eq!(context["age"], 41);
    assert_eq!(context["vip"], true);
    assert!(context.get("nested").is_none(), "objects are skipped");
    assert!(
        context.get("email").is_none(),
        "only allowlisted traits are sent"
    );
}

#[wasm_bindgen_test]
async fn update_context_re_decides() {
    let mut opts = base_options();
    opts["context"] = json!({"page": "home"});
    let (fs, _analytics) = scripted_start(opts).await;
    let changes = recorder();
    fs.on(s("change"), changes.clone().into());
    let ctx = js_sys::JSON::parse(r#"{"plan":"pro"}"#).unwrap();
    JsFuture::from(fs.update_context(ctx.clone()))
        .await
        .unwrap();
    assert_eq!(fs.status(), "READY");
    let body = last_body("/campaigns");
    assert_eq!(
        (&body["context"]["plan"], &body["context"]["page"]),
        (&json!("pro"), &json!("home"))
    );
    assert_eq!(recorded(&changes)[0]["reason"], "refresh");
    // The same context again changes nothing and sends nothing.
    let before = calls_to("/campaigns").len();
    JsFuture::from(fs.update_context(ctx)).await.unwrap();
    assert_eq!(calls_to("/campaigns").len(), before);
    let bad = js_sys::JSON::parse(r#"{"plan":{"x":1}}"#).unwrap();
    let error = JsFuture::from(fs.update_context(bad)).await.unwrap_err();
    assert_eq!(code_of(&error), "INVALID_OPTIONS");
}

#[wasm_bindgen_test]
async fn flags_events_and_throwing_listeners() {
    let (fs, analytics) = scripted_start(base_options()).await;
    let flags = recorder();
    fs.on(s("flags"), throwing_listener().into());
    fs.on(s("flags"), flags.clone().into());
    fs.on(s("nope"), flags.clone().into());
    call(&analytics, "reset", &[]);
    settled_for(&fs, "anon-reset-1").await;
    assert_eq!(
        recorded(&flags),
        [json!({"who": "anon-reset-1", "btnColor": "blue", "banner": "sale"})]
    );
    fs.off(s("flags"), flags.clone().into());
    call(&analytics, "reset", &[]);
    settled_for(&fs, "anon-reset-2").await;
    assert_eq!(recorded(&flags).len(), 1, "off removed the listener");
    assert_eq!(
        fs.status(),
        "READY",
        "a throwing listener did not break the module"
    );
}

#[wasm_bindgen_test]
async fn stub_replaced_by_instance_is_subscribed_and_close_unsubscribes() {
    reset().await;
    install_stub("analytics", -1, None, None);
    route("/campaigns", json!([echo(0)]));
    let installed = install_scripted_later("analytics", "anon-late", IDENTIFY_EVENT_MS, 60);
    let fs = start(options(base_options())).await.unwrap();
    let analytics = JsFuture::from(installed).await.unwrap();
    assert_eq!(fs.visitor_id().as_deref(), Some("anon-late"));
    assert_eq!(
        call(&analytics, "listenerCount", &[s("identify")]).as_f64(),
        Some(1.0)
    );
    assert_eq!(
        call(&analytics, "listenerCount", &[s("reset")]).as_f64(),
        Some(1.0)
    );
    wasm_bindgen_futures::JsFuture::from(fs.close())
        .await
        .unwrap();
    assert_eq!(
        call(&analytics, "listenerCount", &[s("identify")]).as_f64(),
        Some(0.0)
    );
    assert_eq!(
        call(&analytics, "listenerCount", &[s("reset")]).as_f64(),
        Some(0.0)
    );
}

#[wasm_bindgen_test]
async fn plugin_reacts_to_identify_before_segments_event() {
    reset().await;
    let analytics = install_scripted("analytics", "anon-1", 500);
    route("/campaigns", json!([echo(0)]));
    let plugin = flagship_segment_plugin(options(base_options())).unwrap();
    assert_eq!(
        js_sys::Reflect::get(&plugin, &s("type")).unwrap(),
        "enrichment"
    );
    assert!(
        js_sys::Reflect::get(&plugin, &s("ready"))
            .unwrap()
            .is_undefined(),
        "no ready()"
    );
    call(&analytics, "register", std::slice::from_ref(&plugin));
    let started = js_sys::Reflect::get(&plugin, &s("flagship")).unwrap();
    let page = JsFuture::from(js_sys::Promise::from(started))
        .await
        .unwrap();
    plugin_module(&page);
    assert_eq!(calls_to("/campaigns").len(), 1);
    call(&analytics, "identify", &[s("user-U")]);
    // Segment's own identify event is 500 ms away: the plugin hook, called inside identify(),
    // already asked for user-U.
    assert_eq!(last_body("/campaigns")["visitor_id"], "user-U");
    assert_eq!(last_body("/campaigns")["anonymous_id"], "anon-1");
}
