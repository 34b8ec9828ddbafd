use super::*;
use serde_json::{json, Value as J};

fn browser(options: J) -> Result<Options, Error> {
    read_options(&options.to_string(), Reader::Browser)
}

fn server(options: J) -> Result<Options, Error> {
    read_options(&options.to_string(), Reader::Server)
}

fn base() -> J {
    json!({"envId": "env_1", "apiKey": "key_1"})
}

fn with(extra: J) -> J {
    let mut options = base();
    for (key, value) in extra.as_object().unwrap() {
        options[key] = value.clone();
    }
    options
}

fn refusal(result: Result<Options, Error>) -> String {
    let error = result.unwrap_err();
    assert_eq!(error.code(), "INVALID_OPTIONS");
    error.message()
}

#[test]
fn the_credentials_are_required_and_checked() {
    assert!(refusal(browser(json!({"apiKey": "k"}))).contains("`envId`: is required"));
    assert!(refusal(server(json!({"envId": "e"}))).contains("`apiKey`: is required"));
    assert!(refusal(browser(with(json!({"envId": 3})))).contains("`envId`: must be a string"));
    assert!(refusal(browser(with(json!({"apiKey": "a b"})))).contains("`apiKey`"));
    for not_an_object in ["null", "[]", "\"x\"", "3", "{"] {
        let error = read_options(not_an_object, Reader::Browser).unwrap_err();
        assert!(error.message().contains("`options`: must be an object"));
    }
}

#[test]
fn a_visitor_id_is_never_an_option() {
    for key in FORBIDDEN_OPTIONS {
        let browser_reason = refusal(browser(with(json!({ key: "v" }))));
        assert!(
            browser_reason.contains("comes from Segment"),
            "{browser_reason}"
        );
        let server_reason = refusal(server(with(json!({ key: "v" }))));
        assert!(
            server_reason.contains("Segment's cookies"),
            "{server_reason}"
        );
    }
}

#[test]
fn every_option_is_read_into_the_config() {
    let read = browser(with(json!({
        "endpoints": {"decision": "https://d.test/", "events": "https://e.test", "cdn": "http://c.test"},
        "timeoutMs": 1500, "segmentTimeoutMs": 100, "globalKey": "segment",
        "fallback": "storage", "idPolicy": "anonymous", "consent": false, "logLevel": "debug",
        "context": {"plan": "pro", "n": 2, "b": true}, "traits": ["plan"],
        "keepFlagsDuringRefresh": false, "mode": "bucketing", "pollingIntervalMs": 0,
        "bucketingEngineUrl": "/e.wasm", "decisionMaxAgeMs": 300000, "flushIntervalMs": 100,
        "batchSize": 5, "activationDedupeMs": 1000, "segmentExperimentViewed": true,
        "ensureSegmentKnows": "track", "segmentKnowsTimeoutMs": 200
    })))
    .unwrap();
    let c = &read.config;
    assert_eq!(
        (
            c.endpoints.decision.as_str(),
            c.endpoints.events.as_str(),
            c.endpoints.cdn.as_str()
        ),
        ("https://d.test", "https://e.test", "http://c.test")
    );
    assert_eq!((c.timeout_ms, c.segment_timeout_ms), (1500, 100));
    assert_eq!(c.global_key, "segment");
    assert_eq!(
        (c.fallback, c.id_policy),
        (Fallback::Storage, IdPolicy::Anonymous)
    );
    assert_eq!((c.consent, c.log_level), (false, LogLevel::Debug));
    assert_eq!(c.context.len(), 3);
    assert_eq!(c.traits, ["plan"]);
    assert!(!c.keep_flags_during_refresh);
    assert_eq!((c.mode, c.polling_interval_ms), (Mode::Bucketing, 0));
    assert_eq!(c.bucketing_engine_url.as_deref(), Some("/e.wasm"));
    assert_eq!(
        (
            c.decision_max_age_ms,
            c.flush_interval_ms,
            c.batch_size,
            c.activation_dedupe_ms
        ),
        (300_000, 100, 5, 1000)
    );
    assert!(c.segment_experiment_viewed);
    assert_eq!(
        (c.ensure_segment_knows, c.segment_knows_timeout_ms),
        (EnsureSegmentKnows::Track, 200)
    );
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
}

#[test]
fn absent_and_null_options_keep_their_defaults_where_null_means_nothing() {
    let read = browser(with(
        json!({"initialDecision": null, "analytics": null, "context": null}),
    ))
    .unwrap();
    assert_eq!(
        read.config,
        Config {
            env_id: "env_1".into(),
            api_key: "key_1".into(),
            ..Config::default()
        }
    );
    assert_eq!(
        (read.initial_decision, read.analytics_instance),
        (None, false)
    );
    assert!(refusal(browser(with(json!({"timeoutMs": null}))))
        .contains("`timeoutMs`: must be a number"));
}

#[test]
fn refusals_name_the_option_and_the_first_one_in_reading_order_wins() {
    let cases = [
        (
            json!({"timeoutMs": 60_001}),
            "`timeoutMs`: must be a number of milliseconds between 0 and 60000",
        ),
        (
            json!({"fallback": "cookie"}),
            "`fallback`: must be \"none\" or \"storage\"",
        ),
        (json!({"logLevel": 3}), "`logLevel`: must be a string"),
        (
            json!({"globalKey": ""}),
            "`globalKey`: must be a property name of 1 to 64 characters",
        ),
        (
            json!({"endpoints": {"events": "ftp://x"}}),
            "`endpoints.events`: must be an http(s) URL",
        ),
        (
            json!({"endpoints": {"cdn": 1}}),
            "`endpoints.cdn`: must be a string",
        ),
        (json!({"endpoints": []}), "`endpoints`: must be an object"),
        (
            json!({"batchSize": 0}),
            "`batchSize`: must be an integer between 1 and 100",
        ),
        (json!({"consent": "yes"}), "`consent`: must be a boolean"),
        (
            json!({"context": {"a": {"b": 1}}}),
            "`context.a`: must be a string, a finite number or a boolean",
        ),
        (
            json!({"context": [1]}),
            "`context`: must be an object of string, number or boolean values",
        ),
        (
            json!({"traits": "plan"}),
            "`traits`: must be an array of at most 50 trait names",
        ),
        (
            json!({"traits": ["fs_users"]}),
            "`traits`: must not contain empty names",
        ),
        (
            json!({"analytics": "object"}),
            "`analytics`: must be a Segment analytics instance",
        ),
        (
            json!({"initialDecision": 3}),
            "`initialDecision`: must be what decideFromCookies resolved to",
        ),
        (
            json!({"timeoutMs": -1, "fallback": "cookie"}),
            "`timeoutMs`",
        ),
    ];
    for (extra, wanted) in cases {
        let message = refusal(browser(with(extra.clone())));
        assert!(message.contains(wanted), "{extra}: {message}");
    }
}

#[test]
fn reserved_context_keys_and_unknown_options_are_warnings() {
    let read = browser(with(
        json!({"context": {"fs_users": "x", "ok": 1}, "timeOut": 5}),
    ))
    .unwrap();
    assert_eq!(read.config.context.len(), 1);
    assert_eq!(read.warnings.len(), 2, "{:?}", read.warnings);
    assert!(read.warnings.iter().any(|w| w.contains("`timeOut`")));
    assert!(read.warnings.iter().any(|w| w.contains("`fs_users`")));
}

#[test]
fn the_preloaded_decision_and_bucketing_file_are_kept_as_json_text() {
    let decision = json!({"visitorId": "v", "decision": {"visitorId": "v", "campaigns": []}});
    let read = browser(with(json!({
        "initialDecision": decision, "initialBucketing": "{\"campaigns\":[]}",
        "analytics": ANALYTICS_INSTANCE
    })))
    .unwrap();
    let kept: J = serde_json::from_str(read.initial_decision.as_deref().unwrap()).unwrap();
    assert_eq!(kept, decision);
    assert_eq!(
        read.initial_bucketing.as_deref(),
        Some("{\"campaigns\":[]}")
    );
    assert!(read.analytics_instance);
}

#[test]
fn the_server_reads_its_own_options_and_ignores_the_browsers_with_a_warning() {
    let read = server(with(json!({
        "cookie": "ajs_anonymous_id=a", "request": {}, "wasm": {}, "fetch": {},
        "idPolicy": "anonymous", "segmentTimeoutMs": 5
    })))
    .unwrap();
    assert_eq!(read.cookie, "ajs_anonymous_id=a");
    assert_eq!(read.config.id_policy, IdPolicy::Anonymous);
    assert_eq!(
        read.config.segment_timeout_ms,
        Config::default().segment_timeout_ms
    );
    assert_eq!(read.warnings, ["unknown option `segmentTimeoutMs` ignored"]);
    assert!(refusal(server(with(json!({"cookie": 3})))).contains("`cookie`: must be a string"));
}
