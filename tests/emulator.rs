#![cfg(all(feature = "emulator", not(target_arch = "wasm32")))]
//! The emulator over real HTTP: each test starts its own server in-process on an ephemeral
//! loopback port and talks to it with a hand-written HTTP/1.1 client (one request per
//! connection, `Connection: close`), so nothing here depends on an HTTP client crate's opinions.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use flagship_segment::bucketing::{decide, parse_bucketing};
use flagship_segment::context::{Context, ContextValue};
use flagship_segment::decision::parse_decision;
use flagship_segment::emulator::{bind, serve, Emulator, Options};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BUCKETING: &str = include_str!("../www/bucketing.json");
const CHECKOUT_GROUP: &str = "g1a3c5e7g9i1k3m5o7q9";
const GREEN: &str = "v1green000000000000b";
/// Every request and every read is bounded by this.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A running emulator and the scratch directory it serves; both go away on drop.
struct Server {
    addr: std::net::SocketAddr,
    dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn scratch_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "flagship-emulator-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(dir.join("www")).unwrap();
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    std::fs::write(
        dir.join("www/index.html"),
        "<!doctype html><title>demo</title>",
    )
    .unwrap();
    std::fs::write(dir.join("pkg/flagship_segment.js"), "export {};").unwrap();
    dir
}

async fn start_with(bucketing: &str, tweak: impl FnOnce(&mut Options)) -> Server {
    let dir = scratch_dir();
    std::fs::write(dir.join("bucketing.json"), bucketing).unwrap();
    let mut options = Options {
        port: 0,
        bucketing: dir.join("bucketing.json"),
        www: dir.join("www"),
        pkg: dir.join("pkg"),
        vendor: dir.join("no-vendor"),
        ..Options::default()
    };
    tweak(&mut options);
    let state = Emulator::new(options).unwrap();
    let listener = bind(([127, 0, 0, 1], 0).into()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        dir,
        stop: Some(stop),
    }
}

async fn start() -> Server {
    start_with(BUCKETING, |_| {}).await
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }

    fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// Sends raw bytes and reads the whole answer; the server closes after one request.
async fn raw(server: &Server, request: Vec<u8>) -> Reply {
    let exchange = async {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(&request).await.unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.unwrap();
        bytes
    };
    let bytes = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .expect("timed out");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("no header end");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v == "chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

async fn send(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        server.addr,
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    raw(server, request.into_bytes()).await
}

async fn post(server: &Server, path: &str, body: &Value) -> Reply {
    send(
        server,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        &body.to_string(),
    )
    .await
}

async fn get(server: &Server, path: &str) -> Reply {
    send(server, "GET", path, &[], "").await
}

async fn log(server: &Server) -> Value {
    get(server, "/_emulator/log").await.json()
}

fn context(plan: Option<&str>) -> Context {
    let mut c = Context::new();
    if let Some(plan) = plan {
        c.insert("plan".into(), ContextValue::String(plan.into()));
    }
    c
}

#[tokio::test]
async fn decisions_match_the_bucketing_engine() {
    let server = start().await;
    let file = parse_bucketing(BUCKETING).unwrap();
    for i in 0..20 {
        let visitor = format!("visitor-{i}");
        for plan in [None, Some("pro"), Some("PRO"), Some("free")] {
            let mut body = json!({"visitor_id": visitor, "anonymous_id": null, "trigger_hit": false,
                                  "visitor_consent": true, "context": {}});
            if let Some(plan) = plan {
                body["context"]["plan"] = json!(plan);
            }
            let reply = post(&server, "/v2/env1/campaigns?exposeAllKeys=true", &body).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            let answered = parse_decision(&reply.body).unwrap();
            assert_eq!(
                answered,
                decide(&file, &visitor, &context(plan)),
                "{visitor} {plan:?}"
            );
        }
    }
}

#[tokio::test]
async fn null_keys_only_with_expose_all_keys() {
    let server = start().await;
    let file = parse_bucketing(BUCKETING).unwrap();
    // The reference variation does not set btnText; find a visitor allocated to it.
    let visitor = (0..200)
        .map(|i| format!("v{i}"))
        .find(|v| {
            decide(&file, v, &Context::new()).campaigns[0].variation.id == "v0orig0000000000000a"
        })
        .expect("a 50% variation within 200 visitors");
    let body = json!({"visitor_id": visitor, "trigger_hit": false, "context": {}});
    let all = post(&server, "/v2/env1/campaigns?exposeAllKeys=true", &body)
        .await
        .json();
    let flags = &all["campaigns"][0]["variation"]["modifications"]["value"];
    assert_eq!(flags, &json!({"btnColor": "#1f6feb", "btnText": null}));
    let own = post(&server, "/v2/env1/campaigns", &body).await.json();
    let flags = &own["campaigns"][0]["variation"]["modifications"]["value"];
    assert_eq!(flags, &json!({"btnColor": "#1f6feb"}));
}

#[tokio::test]
async fn flags_endpoint_carries_metadata() {
    let server = start().await;
    let body = json!({"visitor_id": "A", "trigger_hit": false, "context": {"plan": "pro"}});
    let flags = post(&server, "/v2/env1/flags", &body).await.json();
    assert_eq!(flags["newCheckout"]["value"], json!(true));
    assert_eq!(flags["discount"]["value"], json!(15));
    assert_eq!(
        flags["bannerText"]["metadata"]["campaignName"],
        json!("Plan banner")
    );
    assert_eq!(
        flags["bannerText"]["metadata"]["variationGroupName"],
        json!("Pro plan")
    );
}

#[tokio::test]
async fn trigger_hit_and_consent_decide_server_side_activations() {
    let server = start().await;
    let count = |log: &Value| log["activations"].as_array().map_or(0, Vec::len);
    post(
        &server,
        "/v2/env1/campaigns",
        &json!({"visitor_id": "A", "trigger_hit": false}),
    )
    .await;
    assert_eq!(count(&log(&server).await), 0);
    post(&server, "/v2/env1/campaigns", &json!({"visitor_id": "A"})).await;
    let after = log(&server).await;
    assert_eq!(
        count(&after),
        3,
        "absent trigger_hit means one activation per campaign"
    );
    assert_eq!(after["activations"][0]["source"], json!("trigger_hit"));
    let declined = json!({"visitor_id": "B", "trigger_hit": true, "visitor_consent": false});
    post(&server, "/v2/env1/campaigns", &declined).await;
    assert_eq!(
        count(&log(&server).await),
        3,
        "no activation without consent"
    );
}

#[tokio::test]
async fn panic_mode_answers_no_campaigns() {
    let server = start_with(r#"{"panic": true}"#, |_| {}).await;
    let reply = post(&server, "/v2/env1/campaigns", &json!({"visitor_id": "A"})).await;
    assert_eq!(
        reply.json(),
        json!({"visitorId": "A", "campaigns": [], "panic": true})
    );
    assert_eq!(log(&server).await["activations"], json!([]));
}

#[tokio::test]
async fn api_key_is_checked_when_configured() {
    let server = start_with(BUCKETING, |o| o.api_key = Some("secret".into())).await;
    let body = json!({"visitor_id": "A", "trigger_hit": false}).to_string();
    let none = send(&server, "POST", "/v2/env1/campaigns", &[], &body).await;
    assert_eq!(
        (none.status, none.message().as_str()),
        (403, "x-api-key is missing or wrong")
    );
    let wrong = send(
        &server,
        "POST",
        "/v2/env1/flags",
        &[("x-api-key", "nope")],
        &body,
    )
    .await;
    assert_eq!(wrong.status, 403);
    let right = send(
        &server,
        "POST",
        "/v2/env1/campaigns",
        &[("x-api-key", "secret")],
        &body,
    )
    .await;
    assert_eq!(right.status, 200);
}

#[tokio::test]
async fn bad_bodies_get_400_with_a_reason() {
    let server = start().await;
    let cases: Vec<(&str, String, &str)> = vec![
        ("/v2/env1/campaigns", "{".into(), "body is not JSON: expected a string key in object"),
        ("/v2/env1/campaigns", "{}".into(), "visitor_id is missing or not a non-empty string"),
        ("/v2/activate", json!({"cid": "e", "batch": [{"vid": "A"}]}).to_string(),
         "batch[0]: caid (variation group id) is missing"),
        ("/events", json!({"cid": "e", "t": "BATCH", "h": [{"vid": "A", "t": "EVENT", "ec": "Nope", "ea": "x"}]}).to_string(),
         "h[0]: ec is not \"Action Tracking\" or \"User Engagement\""),
        ("/", json!({"cid": "e", "vid": "A", "t": "EVENT", "ec": "Action Tracking", "ev": 1.5, "ea": "x"}).to_string(),
         "ev is not an integer >= 0"),
        ("/v1/t", json!({"event": "x"}).to_string(), "message 0: a message needs a userId or an anonymousId"),
    ];
    for (path, body, reason) in cases {
        let reply = send(&server, "POST", path, &[], &body).await;
        assert_eq!(
            (reply.status, reply.message().as_str()),
            (400, reason),
            "{path} {body}"
        );
    }
    let not_utf8 = b"POST /v2/activate HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n\xff\xfe";
    let reply = raw(&server, not_utf8.to_vec()).await;
    assert_eq!(
        (reply.status, reply.message().as_str()),
        (400, "body is not UTF-8")
    );
    let rejected = log(&server).await["rejected"].as_array().unwrap().len();
    assert_eq!(rejected, 7, "every refusal is in the log");
    // Still serving after all that.
    assert_eq!(get(&server, "/_emulator/log").await.status, 200);
}

#[tokio::test]
async fn huge_bodies_get_413() {
    let server = start().await;
    // Declared too large: refused before a byte of the body is read.
    let declared = format!(
        "POST /v2/activate HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        (1 << 20) + 1
    );
    let reply = raw(&server, declared.into_bytes()).await;
    assert_eq!(
        (reply.status, reply.message().as_str()),
        (413, "body larger than 1048576 bytes")
    );
    // Chunked, so only counting while reading can catch it.
    let small = start_with(BUCKETING, |o| o.max_body = 64).await;
    let body = format!("{{\"cid\":\"{}\"}}", "x".repeat(100));
    let chunked = format!(
        "POST /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    assert_eq!(raw(&small, chunked.into_bytes()).await.status, 413);
}

#[tokio::test]
async fn cors_preflight_allows_the_module_headers() {
    let server = start().await;
    let reply = send(
        &server,
        "OPTIONS",
        "/v2/env1/campaigns",
        &[
            ("Origin", "http://localhost:3000"),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "x-api-key,x-sdk-client,x-sdk-version,content-type",
            ),
        ],
        "",
    )
    .await;
    assert!(reply.status == 200 || reply.status == 204, "{reply:?}");
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    let allowed = reply
        .header("access-control-allow-headers")
        .unwrap_or_default();
    for name in ["x-api-key", "x-sdk-client", "x-sdk-version", "content-type"] {
        assert!(allowed.contains(name), "{name} not in {allowed}");
    }
    let simple = send(
        &server,
        "POST",
        "/v2/env1/campaigns",
        &[("Origin", "http://a.test")],
        &json!({"visitor_id": "A", "trigger_hit": false}).to_string(),
    )
    .await;
    assert_eq!(
        simple.header("access-control-allow-origin"),
        Some("http://a.test")
    );
}

#[tokio::test]
async fn bucketing_file_honours_if_modified_since() {
    let server = start().await;
    let first = get(&server, "/env1/bucketing.json").await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.json(),
        serde_json::from_str::<Value>(BUCKETING).unwrap()
    );
    let stamp = first
        .header("last-modified")
        .expect("Last-Modified")
        .to_owned();
    let again = send(
        &server,
        "GET",
        "/env1/bucketing.json",
        &[("If-Modified-Since", &stamp)],
        "",
    )
    .await;
    assert_eq!((again.status, again.body.as_str()), (304, ""));
    let old = "Mon, 01 Jan 2001 00:00:00 GMT";
    let stale = send(
        &server,
        "GET",
        "/env1/bucketing.json",
        &[("If-Modified-Since", old)],
        "",
    )
    .await;
    assert_eq!(stale.status, 200);
}

#[tokio::test]
async fn connector_forwards_known_ids_and_drops_unknown_ones() {
    let server = start().await;
    // analytics-next's identify: text/plain, both IDs.
    let identify =
        json!({"type": "identify", "userId": "U", "anonymousId": "A", "traits": {}}).to_string();
    let reply = send(
        &server,
        "POST",
        "/v1/i",
        &[("Content-Type", "text/plain")],
        &identify,
    )
    .await;
    assert_eq!(reply.json(), json!({"success": true}));
    let activations = json!({"cid": "env1", "batch": [
        {"vid": "U", "aid": "A", "caid": CHECKOUT_GROUP, "vaid": GREEN, "qt": 4},
        {"vid": "page-made-id", "aid": null, "caid": CHECKOUT_GROUP, "vaid": GREEN, "qt": 0}
    ]});
    assert_eq!(
        post(&server, "/v2/activate", &activations).await.status,
        204
    );
    let hits = json!({"ds": "APP", "cid": "env1", "t": "BATCH", "qt": 0, "h": [
        {"vid": "A", "cuid": "U", "t": "EVENT", "qt": 0, "ec": "Action Tracking", "ea": "purchase", "ev": 30},
        {"vid": "A", "cuid": "someone-else", "t": "PAGEVIEW", "qt": 0, "dl": "https://shop.test/"}
    ]});
    assert_eq!(post(&server, "/events", &hits).await.status, 200);
    let log = log(&server).await;
    assert_eq!(log["counters"]["forwarded"], json!(2));
    assert_eq!(log["counters"]["dropped"], json!(2));
    let viewed = &log["forwarded"][0];
    assert_eq!(viewed["event"], json!("Experiment Viewed"));
    assert_eq!(
        (&viewed["userId"], &viewed["anonymousId"]),
        (&json!("U"), &json!("A"))
    );
    assert_eq!(
        viewed["properties"],
        json!({"experiment_id": "c8k2m4p6r8t0v2x4z6b8", "experiment_name": "Checkout button colour",
               "variation_id": GREEN, "variation_name": "Green with free returns",
               "variation_group_id": CHECKOUT_GROUP})
    );
    assert_eq!(log["forwarded"][1]["event"], json!("purchase"));
    assert_eq!(log["forwarded"][1]["properties"]["value"], json!(30));
    assert_eq!(log["dropped"][0]["vid"], json!("page-made-id"));
    assert_eq!(
        log["dropped"][0]["reason"],
        json!("vid was never sent by Segment")
    );
    assert_eq!(
        log["dropped"][1]["reason"],
        json!("cuid was never sent by Segment")
    );
}

#[tokio::test]
async fn segment_batch_settings_and_reset() {
    let server = start().await;
    let batch = json!({"batch": [
        {"type": "page", "anonymousId": "A2", "name": "Home"},
        {"type": "alias", "userId": "U2", "previousId": "OLD"}
    ], "writeKey": "wk"});
    let reply = send(
        &server,
        "POST",
        "/v1/b",
        &[("Content-Type", "text/plain")],
        &batch.to_string(),
    )
    .await;
    assert_eq!(reply.status, 200);
    let seen = log(&server).await["seenIds"].clone();
    assert_eq!(
        seen,
        json!({"userIds": ["OLD", "U2"], "anonymousIds": ["A2"]})
    );
    let settings = get(&server, "/v1/projects/wk/settings").await.json();
    let io = &settings["integrations"]["Segment.io"];
    assert_eq!(io["apiHost"], json!(format!("{}/v1", server.addr)));
    assert_eq!(
        send(&server, "POST", "/_emulator/reset", &[], "")
            .await
            .status,
        204
    );
    let cleared = log(&server).await;
    assert_eq!(
        cleared["seenIds"],
        json!({"userIds": [], "anonymousIds": []})
    );
    assert_eq!(cleared["segment"], json!([]));
}

#[tokio::test]
async fn static_files_and_unknown_environments() {
    let server = start_with(BUCKETING, |o| o.env_id = Some("env1".into())).await;
    let index = get(&server, "/").await;
    assert_eq!(index.status, 200);
    assert!(index.body.contains("<title>demo</title>"));
    let module = get(&server, "/pkg/flagship_segment.js").await;
    assert_eq!((module.status, module.body.as_str()), (200, "export {};"));
    assert_eq!(get(&server, "/nope.html").await.status, 404);
    let other = post(&server, "/v2/other/campaigns", &json!({"visitor_id": "A"})).await;
    assert_eq!(
        (other.status, other.message().as_str()),
        (404, "environment not found")
    );
}

#[tokio::test]
async fn concurrent_visitors_are_all_recorded() {
    let server = Arc::new(start().await);
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let server = server.clone();
            tokio::spawn(async move {
                let body = json!({"visitor_id": format!("c{i}"), "trigger_hit": false});
                post(&server, "/v2/env1/campaigns", &body).await.status
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    assert_eq!(log(&server).await["counters"]["decisions"], json!(16));
}

#[tokio::test]
async fn hostile_bodies_are_refused_and_the_server_keeps_serving() {
    let server = start().await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bodies = [
        deep.as_str(),
        "\u{0}",
        "null",
        "1e999",
        "\"\\ud800\"",
        r#"{"visitor_id":["A"],"cid":{},"batch":[null],"h":"x","t":"BATCH"}"#,
        r#"{"visitor_id":"A","context":{"k":{"nested":1}}}"#,
        r#"{"cid":"e","batch":[{"vid":"A","caid":"g","vaid":"v","qt":"soon"}]}"#,
        r#"{"batch":{"type":"track"}}"#,
    ];
    let paths = [
        "/v2/env1/campaigns",
        "/v2/env1/flags",
        "/v2/activate",
        "/events",
        "/",
        "/v1/t",
        "/v1/b",
    ];
    for path in paths {
        for body in bodies {
            let reply = send(&server, "POST", path, &[], body).await;
            assert_eq!(reply.status, 400, "{path} {body:.40}: {}", reply.body);
            assert!(!reply.message().is_empty(), "{path}: a 400 says why");
        }
    }
    let fine = post(
        &server,
        "/v2/env1/campaigns",
        &json!({"visitor_id": "A", "trigger_hit": false}),
    )
    .await;
    assert_eq!(fine.status, 200);
}
