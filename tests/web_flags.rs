//! Browser suite: flag reads as the page makes them (JS defaults and the values handed back,
//! metadata and snapshot objects, bad keys, the JS read path of the page's instance) and
//! `close()`. Which reads expose, dedupe and retry are the engine's rules, tested on a fake clock
//! in src/engine/tests/reads.rs.
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
    flushed(&fs).await;
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

/// `close()` resolves, and the instance answers with defaults. (That a read after close exposes
/// nothing is the engine's: src/engine/tests/reads.rs, no_exposure_without_consent_or_after_close.)
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

    page_flushed(&page).await;
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
    page_flushed(&page).await;
    assert!(calls_to("/activate").is_empty());
    for _ in 0..3 {
        let size = page_read(&page, "size", JsValue::from_f64(1.0), None);
        assert_eq!(size.as_f64(), Some(3.0));
    }
    page_flushed(&page).await;
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
