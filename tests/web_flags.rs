//! Browser suite: flag reads, typing, metadata and exposure.
#![cfg(target_arch = "wasm32")]

mod support;

use flagship_segment::{start, FlagshipSegment};
use serde_json::json;
use support::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn ready(user: Option<&str>) -> FlagshipSegment {
    reset().await;
    install_loaded("analytics", user.map(str::to_owned), some("anon-1"));
    route(
        "/campaigns",
        json!([decision_for(user.unwrap_or("anon-1"))]),
    );
    route("/activate", json!([{"status": 204, "body": ""}]));
    let fs = start(options(base_options())).await.unwrap();
    assert_eq!(fs.status(), "READY");
    fs
}

fn read(fs: &FlagshipSegment, key: &str, default: JsValue) -> JsValue {
    fs.get_flag(key.into(), default, None)
}

fn json_of(value: &JsValue) -> serde_json::Value {
    serde_json::from_str(&js_sys::JSON::stringify(value).unwrap().as_string().unwrap()).unwrap()
}

#[wasm_bindgen_test]
async fn typed_reads_return_values_of_the_default_type() {
    let fs = ready(None).await;
    assert_eq!(
        read(&fs, "btnColor", "red".into()).as_string().as_deref(),
        Some("blue")
    );
    assert_eq!(
        read(&fs, "size", JsValue::from_f64(1.0)).as_f64(),
        Some(3.0)
    );
    assert_eq!(
        read(&fs, "newCheckout", JsValue::FALSE).as_bool(),
        Some(true)
    );
    assert_eq!(
        json_of(&read(&fs, "tiers", js_sys::Array::new().into())),
        json!([1, 2])
    );
    assert_eq!(
        json_of(&read(&fs, "copy", js_sys::Object::new().into())),
        json!({"title": "Hi"})
    );
    assert_eq!(
        read(&fs, "banner", JsValue::UNDEFINED)
            .as_string()
            .as_deref(),
        Some("sale")
    );
}

#[wasm_bindgen_test]
async fn defaults_for_missing_null_and_other_types() {
    let fs = ready(None).await;
    assert_eq!(
        read(&fs, "missing", "red".into()).as_string().as_deref(),
        Some("red")
    );
    assert_eq!(
        read(&fs, "discount", JsValue::from_f64(5.0)).as_f64(),
        Some(5.0)
    );
    assert_eq!(
        read(&fs, "btnColor", JsValue::from_f64(7.0)).as_f64(),
        Some(7.0)
    );
    assert!(!read(&fs, "tiers", js_sys::Object::new().into()).is_array());
}

#[wasm_bindgen_test]
async fn first_read_sends_one_exposure_with_the_segment_ids() {
    let fs = ready(Some("user-1")).await;
    for _ in 0..50 {
        read(&fs, "btnColor", "red".into());
    }
    sleep(DELIVERED_MS).await;
    let activations = calls_to("/activate");
    assert_eq!(
        activations.len(),
        1,
        "deduplicated per visitor and variation"
    );
    let call = &activations[0];
    assert_eq!(call.url, "https://decision.test/v2/activate");
    assert_eq!(call.headers["x-api-key"], "key_test_123456");
    assert!(call.keepalive);
    let item = &call.body["batch"][0];
    assert_eq!(call.body["cid"], "env_test");
    assert_eq!(
        (&item["vid"], &item["aid"]),
        (&json!("user-1"), &json!("anon-1"))
    );
    assert_eq!(
        (&item["caid"], &item["vaid"]),
        (&json!("vg1"), &json!("v1"))
    );
    assert!(item["qt"].as_u64().unwrap() < 1000);
}

#[wasm_bindgen_test]
async fn each_variation_is_exposed_once() {
    let fs = ready(None).await;
    read(&fs, "btnColor", "red".into());
    read(&fs, "size", JsValue::from_f64(0.0));
    read(&fs, "banner", "none".into());
    sleep(DELIVERED_MS).await;
    let calls = calls_to("/activate");
    assert_eq!(calls.len(), 1, "reads of one render go out as one batch");
    let items = calls[0].body["batch"].as_array().unwrap().clone();
    let exposed: Vec<_> = items.iter().map(|item| item["vaid"].clone()).collect();
    assert_eq!(exposed, [json!("v1"), json!("v9")]);
    for item in items {
        assert_eq!(item["vid"], "anon-1");
        assert_eq!(item["aid"], json!(null));
    }
}

#[wasm_bindgen_test]
async fn null_value_exposes_missing_and_mismatch_do_not() {
    let fs = ready(None).await;
    read(&fs, "missing", "red".into());
    read(&fs, "btnColor", JsValue::from_f64(1.0));
    sleep(DELIVERED_MS).await;
    assert!(calls_to("/activate").is_empty());
    read(&fs, "discount", JsValue::from_f64(5.0));
    sleep(DELIVERED_MS).await;
    assert_eq!(calls_to("/activate").len(), 1);
}

#[wasm_bindgen_test]
async fn reading_without_exposure_then_exposing() {
    let fs = ready(None).await;
    let value = fs.get_flag("btnColor".into(), "red".into(), Some(false));
    assert_eq!(value.as_string().as_deref(), Some("blue"));
    sleep(DELIVERED_MS).await;
    assert!(calls_to("/activate").is_empty());
    assert!(fs.expose_flag("btnColor".into()));
    assert!(!fs.expose_flag("missing".into()));
    sleep(DELIVERED_MS).await;
    assert_eq!(calls_to("/activate").len(), 1);
}

#[wasm_bindgen_test]
async fn failed_exposure_is_retried_with_backoff_and_a_rejected_one_is_not() {
    reset().await;
    install_loaded("analytics", None, some("anon-1"));
    route("/campaigns", json!([decision_for("anon-1")]));
    route(
        "/activate",
        json!([{"networkError": true}, {"status": 204, "body": ""}]),
    );
    let fs = start(options(base_options())).await.unwrap();
    read(&fs, "btnColor", "red".into());
    sleep(DELIVERED_MS).await;
    assert_eq!(calls_to("/activate").len(), 1);
    // No read needed: the queue retries after its backoff (1 to 2 s for the first retry).
    for _ in 0..30 {
        if calls_to("/activate").len() == 2 {
            break;
        }
        sleep(100).await;
    }
    let sent = calls_to("/activate");
    assert_eq!(sent.len(), 2, "retried once");
    assert_eq!(
        sent[0].body["batch"],
        sent[1].body["batch"]
            .clone()
            .as_array()
            .map(|b| {
                let mut b = b.clone();
                b[0]["qt"] = sent[0].body["batch"][0]["qt"].clone();
                json!(b)
            })
            .unwrap(),
        "the same exposure"
    );
    read(&fs, "btnColor", "red".into());
    sleep(DELIVERED_MS).await;
    assert_eq!(
        calls_to("/activate").len(),
        2,
        "delivered, so not sent again"
    );
    drop(fs);

    // A 400 is final: later reads do not send the exposure again.
    reset().await;
    install_loaded("analytics", None, some("anon-2"));
    route("/campaigns", json!([decision_for("anon-2")]));
    route("/activate", json!([{"status": 400, "body": "{}"}]));
    let fs = start(options(base_options())).await.unwrap();
    for _ in 0..3 {
        read(&fs, "btnColor", "red".into());
        sleep(DELIVERED_MS).await;
    }
    assert_eq!(calls_to("/activate").len(), 1);
    assert_eq!(json_of(&fs.diagnose())["activations"]["dropped"], 1);
}

#[wasm_bindgen_test]
async fn metadata_and_snapshot() {
    let fs = ready(None).await;
    assert_eq!(
        json_of(&fs.flag_metadata("btnColor".into())),
        json!({"campaignId": "c1", "campaignName": "Checkout", "slug": "checkout", "campaignType": "ab",
               "variationGroupId": "vg1", "variationGroupName": "Everyone", "variationId": "v1",
               "variationName": "Blue", "isReference": false})
    );
    assert!(fs.flag_metadata("missing".into()).is_null());
    assert_eq!(
        json_of(&fs.get_flags()),
        json!({"btnColor": "blue", "size": 3, "newCheckout": true, "tiers": [1, 2],
               "copy": {"title": "Hi"}, "banner": "sale"})
    );
    sleep(DELIVERED_MS).await;
    assert!(
        calls_to("/activate").is_empty(),
        "metadata and snapshot do not expose"
    );
}

#[wasm_bindgen_test]
async fn bad_keys_never_throw() {
    let fs = ready(None).await;
    for key in [
        JsValue::UNDEFINED,
        JsValue::NULL,
        JsValue::from_f64(3.0),
        symbol_value(),
        js_sys::Object::new().into(),
    ] {
        assert_eq!(
            fs.get_flag(key.clone(), "red".into(), None)
                .as_string()
                .as_deref(),
            Some("red")
        );
        assert!(fs.flag_metadata(key.clone()).is_null());
        assert!(!fs.expose_flag(key));
    }
}

#[wasm_bindgen_test]
async fn close_stops_everything() {
    let fs = ready(None).await;
    wasm_bindgen_futures::JsFuture::from(fs.close())
        .await
        .unwrap();
    assert_eq!(fs.status(), "CLOSED");
    assert_eq!(
        read(&fs, "btnColor", "red".into()).as_string().as_deref(),
        Some("red")
    );
    sleep(DELIVERED_MS).await;
    assert!(calls_to("/activate").is_empty());
}

/// `getFlag` as the page calls it: on the instance `start` hands to JS, whose repeated reads
/// are answered in JS.
fn page_read(page: &JsValue, key: &str, default: JsValue, expose: Option<bool>) -> JsValue {
    let mut args = vec![JsValue::from_str(key), default];
    args.extend(expose.map(JsValue::from_bool));
    call(page, "getFlag", &args)
}

#[wasm_bindgen_test]
async fn repeated_page_reads_answer_like_the_wasm_and_expose_once() {
    let page = page_handle(ready(None).await);
    let own = js_sys::Object::get_own_property_descriptor(&page.clone().into(), &"getFlag".into());
    assert!(
        !own.is_undefined(),
        "the JS read path is installed on the instance"
    );
    for _ in 0..3 {
        let color = page_read(&page, "btnColor", "red".into(), None);
        assert_eq!(color.as_string().as_deref(), Some("blue"));
        let size = page_read(&page, "size", JsValue::from_f64(1.0), None);
        assert_eq!(size.as_f64(), Some(3.0));
        let checkout = page_read(&page, "newCheckout", JsValue::FALSE, None);
        assert_eq!(checkout.as_bool(), Some(true));
        let banner = page_read(&page, "banner", JsValue::NULL, None);
        assert_eq!(banner.as_string().as_deref(), Some("sale"));
        // Once cached, the type check still holds.
        let mismatch = page_read(&page, "btnColor", JsValue::from_f64(7.0), None);
        assert_eq!(mismatch.as_f64(), Some(7.0));
        let as_object = page_read(&page, "size", js_sys::Object::new().into(), None);
        assert!(as_object.is_object() && as_object.as_f64().is_none());
        let missing = page_read(&page, "missing", "red".into(), None);
        assert_eq!(missing.as_string().as_deref(), Some("red"));
    }
    // Arrays and objects are fresh copies: the page cannot alter the next read.
    let tiers = page_read(&page, "tiers", js_sys::Array::new().into(), None);
    js_sys::Array::from(&tiers).push(&JsValue::from_f64(9.0));
    let again = page_read(&page, "tiers", js_sys::Array::new().into(), None);
    assert_eq!(json_of(&again), json!([1, 2]));

    sleep(DELIVERED_MS).await;
    let exposed: Vec<_> = calls_to("/activate")
        .iter()
        .flat_map(|call| call.body["batch"].as_array().unwrap().clone())
        .map(|item| item["vaid"].clone())
        .collect();
    assert_eq!(exposed, [json!("v1"), json!("v9")]);
}

#[wasm_bindgen_test]
async fn page_reads_without_exposure_do_not_stand_for_an_exposure() {
    let page = page_handle(ready(None).await);
    for _ in 0..3 {
        let size = page_read(&page, "size", JsValue::from_f64(1.0), Some(false));
        assert_eq!(size.as_f64(), Some(3.0));
    }
    sleep(DELIVERED_MS).await;
    assert!(calls_to("/activate").is_empty());
    for _ in 0..3 {
        let size = page_read(&page, "size", JsValue::from_f64(1.0), None);
        assert_eq!(size.as_f64(), Some(3.0));
    }
    sleep(DELIVERED_MS).await;
    let activations = calls_to("/activate");
    assert_eq!(activations.len(), 1);
    assert_eq!(activations[0].body["batch"][0]["vaid"], "v1");
}

#[wasm_bindgen_test]
async fn page_reads_after_close_return_defaults() {
    let fs = ready(None).await;
    let page = page_handle(fs);
    for _ in 0..2 {
        page_read(&page, "btnColor", "red".into(), None);
    }
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(call(&page, "close", &[])))
        .await
        .unwrap();
    let after = page_read(&page, "btnColor", "red".into(), None);
    assert_eq!(after.as_string().as_deref(), Some("red"));
}
