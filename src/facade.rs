//! The exported JS surface, all in one place (hence its length). Nothing here accepts a visitor
//! ID from the page: `takeOver`, the web build's internal hand-over (not in the typed API), takes
//! only the IDs its own first stage read from Segment, validated again as Segment's.
//!
//! Flag reads never throw into the page: a bad key or default returns the default. Only `start`
//! rejects, and only for invalid options (`INVALID_OPTIONS`); every other problem resolves with a
//! status and `lastError`, so a page always gets its defaults.

use alloc::rc::Rc;
use alloc::string::String;
use core::cell::RefCell;

use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;

use crate::browser::diagnose::diagnose;
use crate::browser::driver::{now, Driver};
use crate::browser::events::{Event, Listeners};
use crate::browser::options::{self, ReadOptions};
use crate::browser::segment::{Segment, Source};
use crate::browser::{hit_input, js, log};
use crate::config::LogLevel;
use crate::context::SDK_VERSION;
use crate::decision::ValueKind;
use crate::engine::SegmentEvent;
use crate::error::Error;
use crate::tracking::hits::{HitKind, HitMethod};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Base URLs of the services flagship-segment talks to. Defaults are AB Tasty's production hosts. */
export interface Endpoints {
  /** Decision API base; default "https://decision.flagship.io". */
  decision?: string;
  /** Hit collector; default "https://events.flagship.io". */
  events?: string;
  /** Bucketing file base; default "https://cdn.flagship.io". */
  cdn?: string;
}

/** A targeting attribute value accepted by the Decision API. */
export type ContextValue = string | number | boolean;

/** Options of `start`. There is deliberately no visitor ID: it comes from Segment. */
export interface StartOptions {
  /** Flagship environment ID (required). */
  envId: string;
  /** Flagship API key (required). */
  apiKey: string;
  /** Service base URLs. */
  endpoints?: Endpoints;
  /** Decision API timeout in ms, after which the request is aborted; default 2000. */
  timeoutMs?: number;
  /** How long to wait for analytics.js to load, in ms; default 3000. */
  segmentTimeoutMs?: number;
  /** Name of the global analytics.js lives on; default "analytics". */
  globalKey?: string;
  /** An analytics-next `AnalyticsBrowser` or loaded `Analytics` instance, instead of the global. */
  analytics?: { user(): unknown };
  /** When Segment is unavailable: "none" (default, no request, defaults served) or "storage"
   *  (read the IDs Segment stored in cookies/localStorage; never minted). */
  fallback?: "none" | "storage";
  /** "user" (default): userId once identified, else anonymousId, with the anonymousId sent
   *  alongside; "anonymous": always the anonymousId. */
  idPolicy?: "user" | "anonymous";
  /** Targeting attributes sent with every decision. `fs_users`, `fs_client`, `fs_version` are set
   *  by the module. */
  context?: Record<string, ContextValue>;
  /** The visitor's consent; default true. Without it no hit or activation is sent or stored, and
   *  decisions are asked with visitor_consent: false. See also `setConsent`. */
  consent?: boolean;
  /** Console verbosity; default "warn". IDs and keys are redacted at every level. */
  logLevel?: "none" | "error" | "warn" | "info" | "debug";
  /** "api" (default): the Decision API decides; "bucketing": decisions are made locally from the
   *  environment's bucketing file, with no request per identity or context change. */
  mode?: "api" | "bucketing";
  /** Bucketing mode: how often the file is fetched again (If-Modified-Since), in ms; 0 fetches it
   *  once. Default 60000. */
  pollingIntervalMs?: number;
  /** Bucketing mode: the environment's bucketing file already on the page (object or JSON text);
   *  no request is made before the first decision. */
  initialBucketing?: object | string;
  /** A decision made on the server by `decideFromCookies` (flagship-segment/server), or its JSON
   *  text: used at start, with no request, if it was made for exactly the identity the module
   *  reads from Segment; otherwise a `warning` (STALE_IDENTITY) and the module decides as usual. */
  initialDecision?: InitialDecision | string | null;
  /** Bucketing mode: where the bucketing engine (flagship_segment_bucketing.wasm, shipped next
   *  to the module's .wasm) is fetched from; default: next to the module's own .wasm. */
  bucketingEngineUrl?: string;
  /** API mode: a decision stored for exactly this visitor (ID and anonymousId) and context
   *  younger than this, in ms, is used at once with no request (status "READY"); an older one
   *  is used at once while the module asks again (status "REFRESHING"; reads expose; a `flags`
   *  event only if the answer differs). Default 0: every page view asks, as the official SDK
   *  does. Up to 86400000. */
  decisionMaxAgeMs?: number;
  /** How long a hit waits, in ms, for others to share its request when no request of hits is
   *  out; default 0: sent at the end of the task that queued it. Hits queued while a request is
   *  out go together when it returns. A higher value means fewer requests and more left for
   *  the page's unload. */
  flushIntervalMs?: number;
  /** Hits are sent as soon as this many are queued; default 10 (1 to 100). */
  batchSize?: number;
  /** An exposure is sent once per visitor and variation within this window, across reloads;
   *  default 1800000 (30 min). */
  activationDedupeMs?: number;
  /** Also call `analytics.track("Experiment Viewed", {experiment_id, experiment_name,
   *  variation_id, variation_name})` on each exposure. Default false: AB Tasty's SegmentIO
   *  connector already forwards the server-side event. */
  segmentExperimentViewed?: boolean;
  /** AB Tasty's SegmentIO connector drops events of a visitor Segment has not seen yet. "wait"
   *  (default): hold activations and hits until analytics.js has dispatched a call for this
   *  visitor, at most `segmentKnowsTimeoutMs`, then send anyway; "track": at the timeout, call
   *  `analytics.track("Flagship Visitor Seen")` and send once it is dispatched; "off". Decisions
   *  are never held. */
  ensureSegmentKnows?: "wait" | "track" | "off";
  /** How long the gate holds a visitor's events, in ms; default 5000. */
  segmentKnowsTimeoutMs?: number;
  /** Segment traits copied into the context (allowlist, at most 50). String, number and boolean
   *  values are sent; others are skipped. A context value set by the page wins. Default none. */
  traits?: string[];
  /** While a new identity's decision is fetched, serve the previous flags (true, default) or
   *  defaults (false). Nothing is exposed meanwhile either way. */
  keepFlagsDuringRefresh?: boolean;
}

/** Options of `flagshipSegmentPlugin`: those of `start` except `analytics`, which Segment hands
 *  to the plugin itself. */
export type PluginOptions = Omit<StartOptions, "analytics" | "globalKey">;

/** What `decideFromCookies` resolves to: serialisable, for `start({ initialDecision })`. */
export interface InitialDecision {
  /** The visitor it was decided for, from Segment's cookies. */
  visitorId: string;
  anonymousId: string | null;
  /** The Decision API's `/campaigns` answer. */
  decision: object;
  /** Its flag values by key, for the server's own render. */
  flags: Record<string, unknown>;
}

/** Payload of `change` events. */
export interface ChangeEvent {
  visitorId: string | null;
  anonymousId: string | null;
  reason: "identify" | "reset" | "anonymous-id" | "refresh";
}

/** Where the module stands. "READY" and "CACHED" serve this visitor's flags; "REFRESHING" the
 *  previous visitor's while the new one's decision is fetched (nothing exposed), or this
 *  visitor's stored decision while it is asked again (see decisionMaxAgeMs); the others serve
 *  defaults. */
export type Status =
  | "STARTING" | "READY" | "REFRESHING" | "CACHED" | "PANIC" | "SEGMENT_UNAVAILABLE"
  | "INVALID_VISITOR_ID"
  | "FETCH_FAILED" | "CLOSED";

/** Stable error codes, found on `error.code` and `lastError.code`. */
export type ErrorCode =
  | "INVALID_OPTIONS" | "SEGMENT_UNAVAILABLE" | "SEGMENT_TIMEOUT" | "INVALID_VISITOR_ID"
  | "DECISION_TIMEOUT" | "DECISION_NETWORK" | "DECISION_HTTP" | "DECISION_RATE_LIMITED"
  | "DECISION_MALFORMED"
  | "VISITOR_MISMATCH" | "BUCKETING_MALFORMED" | "BUCKETING_FETCH" | "INVALID_HIT"
  | "STALE_IDENTITY";

/** Delivery counters of one kind of request. */
export interface DeliveryCounters {
  queued: number;
  sent: number;
  dropped: number;
}

/** What `diagnose()` returns. */
export interface Diagnosis {
  version: string;
  status: Status;
  lastError: FlagshipError | null;
  mode: "api" | "bucketing";
  /** Redacted: the first characters and the length. */
  visitorId: string | null;
  anonymousId: string | null;
  consent: boolean;
  segment: {
    flavour: "analytics.js 2.0" | "analytics-next (npm)" | "analytics-next instance"
      | "classic analytics.js" | "absent" | "blocked" | "unknown";
    version: string | null;
    /** Where the visitor's IDs came from. */
    idSource: "segment" | "storage" | "none";
    /** Whether Segment's cookie and localStorage copies of ajs_anonymous_id agree (they diverge
     *  across subdomains); null when one is missing. */
    cookieAndStorageAgree: boolean | null;
  };
  /** Whether Segment has dispatched a call for the current visitor (see ensureSegmentKnows). */
  seenBySegment: boolean | null;
  /** Identities whose events went out before Segment knew them, after the gate's timeout. */
  sentBeforeSegmentKnew: number;
  /** localStorage refused a write (full or disabled): queues are in memory only. */
  storageRefused: boolean;
  /** After a 429 from the Decision API (on any page or tab of this environment): no request
   *  before this time, in ms since the epoch; null when not limited. */
  rateLimitedUntil: number | null;
  hits: DeliveryCounters;
  activations: DeliveryCounters;
  endpoints: Required<Endpoints>;
  envId: string;
  /** Redacted. */
  apiKey: string;
  /** The web build answers from its first stage until the full module has taken over (a moment
   *  after start() resolves): then "first", the counters are what waits for the full module,
   *  and what only the full module knows reads as unknown. Absent otherwise. */
  stage?: "first";
}

/** Properties of an EVENT hit. */
export interface EventProperties {
  label?: string;
  /** An integer >= 0. */
  value?: number;
  /** Default "Action Tracking". */
  category?: "Action Tracking" | "User Engagement";
}

/** A TRANSACTION hit. */
export interface Transaction {
  id: string;
  /** The goal name. */
  affiliation: string;
  revenue?: number;
  tax?: number;
  shipping?: number;
  /** ISO 4217, three letters. */
  currency?: string;
  coupon?: string;
  /** An integer >= 0. */
  itemCount?: number;
  shippingMethod?: string;
  paymentMethod?: string;
}

/** An ITEM hit: one line of a transaction. */
export interface Item {
  transactionId: string;
  name: string;
  /** SKU. */
  code: string;
  price?: number;
  /** An integer >= 0. */
  quantity?: number;
  category?: string;
}

/** The last failure, as plain data. */
export interface FlagshipError {
  code: ErrorCode;
  message: string;
}

/** Which campaign and variation a flag's value comes from. */
export interface FlagMetadata {
  campaignId: string;
  campaignName: string | null;
  slug: string | null;
  campaignType: string | null;
  variationGroupId: string;
  variationGroupName: string | null;
  variationId: string;
  variationName: string | null;
  isReference: boolean;
}

/** A flag value as the Decision API can return it. */
export type FlagValue = string | number | boolean | FlagValue[] | { [key: string]: FlagValue };

/** A started module. */
export class FlagshipSegment {
  private constructor();
  /** The visitor ID in use (Segment's userId or anonymousId), or undefined if none could be read. */
  readonly visitorId: string | undefined;
  /** The anonymousId sent beside an identified visitor, else undefined. */
  readonly anonymousId: string | undefined;
  /** Current status. */
  readonly status: Status;
  /** The last failure, or null. */
  readonly lastError: FlagshipError | null;
  /** Reads a flag. Returns `defaultValue` when the flag is missing, null, or of another JS type
   *  than `defaultValue`. The first read of a flag sends one exposure unless `expose` is false. */
  getFlag(key: string, defaultValue: string, expose?: boolean): string;
  getFlag(key: string, defaultValue: number, expose?: boolean): number;
  getFlag(key: string, defaultValue: boolean, expose?: boolean): boolean;
  getFlag<T extends FlagValue[] | { [key: string]: FlagValue }>(key: string, defaultValue: T, expose?: boolean): T;
  getFlag<D extends null | undefined>(key: string, defaultValue: D, expose?: boolean): FlagValue | D;
  /** Sends the exposure of a flag read earlier with `expose = false`; false if there is none. */
  exposeFlag(key: string): boolean;
  /** Metadata of the campaign that sets `key`, or null. */
  flagMetadata(key: string): FlagMetadata | null;
  /** Every flag with a value, without sending exposures. */
  getFlags(): Record<string, FlagValue>;
  /** Listens to identity changes (`change`) or to newly applied flags (`flags`). A listener
   *  that throws is logged and does not affect the module. */
  on(event: "change", listener: (event: ChangeEvent) => void): void;
  on(event: "flags", listener: (flags: Record<string, FlagValue>) => void): void;
  /** Problems as they happen: a failed decision, events held for Segment, … The first warning
   *  listener added also gets, at once, those raised before (up to 16), such as start()'s own. */
  on(event: "warning", listener: (warning: { code: string; message: string }) => void): void;
  /** Removes a listener added with `on`. */
  off(event: "change" | "flags" | "warning", listener: (...args: any[]) => void): void;
  /** Merges attributes into the context and fetches decisions again if that changed anything.
   *  Resolves when the new decision is applied; rejects with INVALID_OPTIONS for bad values. */
  updateContext(context: Record<string, ContextValue>): Promise<void>;
  /** Hits: built from the Segment identity of the moment (vid = anonymousId, cuid = userId),
   *  queued, batched, kept in localStorage until delivered, retried with backoff, flushed on
   *  pagehide. Each returns false (with a console warning, code INVALID_HIT) when the hit is
   *  refused, or when it is not sent because there is no consent or no Segment identity. */
  track(action: string, properties?: EventProperties): boolean;
  transaction(transaction: Transaction): boolean;
  item(item: Item): boolean;
  /** A PAGEVIEW hit for `url`, by default the current location. */
  page(url?: string): boolean;
  /** Gives or withdraws consent and sends the consent hit. Withdrawing purges this visitor's
   *  queued hits and activations; decisions go on with visitor_consent: false. */
  setConsent(granted: boolean): void;
  /** A plain object describing the module's state, safe to paste in a support ticket (IDs and
   *  the API key are redacted). */
  diagnose(): Diagnosis;
  /** Sends every queued hit and activation now. */
  flush(): Promise<void>;
  /** Sends what is queued, then stops: later reads return defaults, nothing more is sent,
   *  listeners are removed. */
  close(): Promise<void>;
  free(): void;
}

/** An analytics-next plugin that starts flagship-segment with the Segment instance that loads it
 *  and reacts to `identify` before Segment's own event fires. It has no `ready()`, so it never
 *  delays `analytics.ready`. Register it with `analytics.register(plugin)`. */
export interface FlagshipSegmentPlugin {
  name: "Flagship Segment";
  type: "enrichment";
  version: string;
  isLoaded(): boolean;
  load(ctx: unknown, analytics: unknown): Promise<void>;
  identify(ctx: unknown): unknown;
  /** Resolves with the started module once Segment has loaded the plugin. */
  flagship: Promise<FlagshipSegment>;
}

/** Builds the Segment plugin; throws INVALID_OPTIONS for bad options. */
export function flagshipSegmentPlugin(options: PluginOptions): FlagshipSegmentPlugin;

/** Reads the visitor from Segment, fetches its decision, and resolves once flags can be read.
 *  Rejects only for invalid options (error.code === "INVALID_OPTIONS"). */
export function start(options: StartOptions): Promise<FlagshipSegment>;
"#;

/// A started module, as seen by the page.
#[wasm_bindgen(skip_typescript)]
#[derive(Debug)]
pub struct FlagshipSegment {
    driver: Rc<Driver>,
}

/// Reads and validates `options`.
fn read_options(options: &JsValue) -> Result<ReadOptions, JsValue> {
    options::read(options).map_err(|e| to_js_error(&e))
}

/// Logs the options' warnings.
fn log_warnings(read: &ReadOptions) {
    for warning in &read.warnings {
        log::warn(read.config.log_level, "OPTION_IGNORED", warning);
    }
}

/// Starts a module for validated options.
fn begin(read: ReadOptions, listeners: Listeners) -> Rc<Driver> {
    let segment = Segment::new(read.source, read.config.traits.clone());
    Driver::start(read.config, segment, read.preloaded, listeners)
}

#[wasm_bindgen]
extern "C" {
    /// `Promise.prototype.then.call(promise, f)`, with any function: js-sys's `then` takes a
    /// closure it does not own.
    #[wasm_bindgen(js_namespace = ["Promise", "prototype", "then"], js_name = call)]
    fn then_call(promise: &Promise, f: &JsValue) -> Promise;
}

/// `promise.then(() => value())`, with a closure freed once it has run.
fn then(promise: &Promise, value: impl FnOnce() -> JsValue + 'static) -> Promise {
    then_call(promise, &Closure::once_into_js(move |_: JsValue| value()))
}

/// Reads the visitor from Segment and fetches its decision: `start` as the page sees it, whose
/// instance reads repeated flags without entering the wasm (read_cache.rs).
#[wasm_bindgen(js_name = start, skip_typescript)]
pub fn start_for_page(options: JsValue) -> Promise {
    let driver = match read_options(&options) {
        Ok(read) => {
            log_warnings(&read);
            begin(read, Listeners::default())
        }
        Err(error) => return Promise::reject(&error),
    };
    then(&driver.settled(), move || {
        FlagshipSegment { driver }.into_page_handle()
    })
}

/// The web build's full module taking the visit over from its first stage (js/web/handle.js),
/// which read the same `options`, decided `initial_decision` (as `start({initialDecision})`
/// takes it; absent when it served cached flags or defaults) and says in `takeover`
/// (`{visitorId, anonymousId, fresh, dispatched}`) for whom, whether that decision came from the
/// Decision API just now, and whether Segment dispatched a call meanwhile. `emit(event,
/// payload)` hears every event from the first, since the page listens already: an identity
/// change while the module loaded is told before the promise resolves. Once the module has
/// started, `adopt(handle)` is called with the page's handle: the first stage forwards the page's
/// calls to it from then on and returns the ones made until then (engine::early's form), which
/// are replayed here before anything else can reach the module. Not part of the typed API.
#[wasm_bindgen(js_name = takeOver, skip_typescript)]
pub fn take_over(
    options: JsValue,
    initial_decision: Option<String>,
    takeover: String,
    adopt: Function,
    emit: Function,
) -> Promise {
    let mut read = match read_options(&options) {
        Ok(read) => read,
        Err(error) => return Promise::reject(&error),
    };
    read.preloaded.decision = initial_decision;
    read.preloaded.takeover = Some(crate::engine::Takeover::from_json(&takeover));
    let mut listeners = Listeners::default();
    for event in Event::ALL {
        let emit_event = emit.bind1(&JsValue::NULL, &JsValue::from_str(event.name()));
        listeners.add(event, emit_event.unchecked_into());
    }
    // The options' warnings were the first stage's to log.
    let driver = begin(read, listeners);
    then(&driver.settled(), move || {
        let replaying = Rc::clone(&driver);
        let handle = FlagshipSegment { driver }.into_page_handle();
        match adopt
            .call1(&JsValue::NULL, &handle)
            .map(|calls| calls.as_string())
        {
            Ok(Some(calls)) => {
                replaying.run_alone(|engine| engine.handle_stage_calls(now(), &calls));
            }
            _ => log::warn(
                replaying
                    .peek(|engine| engine.config().log_level)
                    .unwrap_or(LogLevel::Warn),
                "STORED_DATA_DISCARDED",
                "the first stage handed over no calls",
            ),
        }
        handle
    })
}

/// [`start_for_page`] for Rust callers (the browser suites, built with the `std` feature): the
/// instance without the JS read path, whose methods are the wasm ones.
#[cfg(feature = "std")]
pub async fn start(options: JsValue) -> Result<FlagshipSegment, JsValue> {
    let read = read_options(&options)?;
    log_warnings(&read);
    let driver = begin(read, Listeners::default());
    let _ = wasm_bindgen_futures::JsFuture::from(driver.settled()).await;
    Ok(FlagshipSegment { driver })
}

impl FlagshipSegment {
    /// The instance as the page holds it: a JS object whose `getFlag` answers repeated reads
    /// from JS before calling the wasm method (read_cache.rs).
    pub fn into_page_handle(self) -> JsValue {
        let driver = Rc::clone(&self.driver);
        let instance = JsValue::from(self);
        driver.read_cache().install(&instance);
        instance
    }

    fn level(&self) -> LogLevel {
        self.driver
            .peek(|engine| engine.config().log_level)
            .unwrap_or(LogLevel::Warn)
    }

    /// Queues a hit read from the page's arguments; false (with a warning) when refused.
    fn hit(&self, kind: Result<HitKind, Error>) -> bool {
        let result = kind.and_then(|kind| {
            self.driver
                .run(|engine, segment| engine.track(now(), kind, segment))
                .unwrap_or(Ok(false))
        });
        result.unwrap_or_else(|error| {
            log::warn(self.level(), error.code(), &error.message());
            false
        })
    }
}

#[wasm_bindgen]
impl FlagshipSegment {
    /// The visitor ID in use, or `null`.
    #[wasm_bindgen(getter, js_name = visitorId)]
    pub fn visitor_id(&self) -> Option<String> {
        self.driver
            .peek(|e| e.identity().map(|i| String::from(i.visitor_id())))
            .flatten()
    }

    /// The anonymousId sent beside an identified visitor, or `null`.
    #[wasm_bindgen(getter, js_name = anonymousId)]
    pub fn anonymous_id(&self) -> Option<String> {
        self.driver
            .peek(|e| {
                e.identity()
                    .and_then(|i| i.anonymous_id())
                    .map(String::from)
            })
            .flatten()
    }

    /// Current status string.
    #[wasm_bindgen(getter)]
    pub fn status(&self) -> String {
        let status = self.driver.peek(|e| e.status().as_str());
        String::from(status.unwrap_or("STARTING"))
    }

    /// `{code, message}` of the last failure, or `null`.
    #[wasm_bindgen(getter, js_name = lastError)]
    pub fn last_error(&self) -> JsValue {
        self.driver
            .peek(|e| {
                e.last_error()
                    .map(|error| js::error_object(error.code(), &error.message()))
            })
            .flatten()
            .unwrap_or(JsValue::NULL)
    }

    /// Reads a flag, falling back to `default_value`; never throws.
    #[wasm_bindgen(js_name = getFlag)]
    pub fn get_flag(&self, key: JsValue, default_value: JsValue, expose: Option<bool>) -> JsValue {
        let Some(text) = key.as_string() else {
            log::warn(
                self.level(),
                "INVALID_KEY",
                "getFlag: key must be a string; default returned",
            );
            return default_value;
        };
        let kind = kind_of(&default_value);
        let driver = &self.driver;
        let read = driver.run_alone(|engine| {
            let read = engine.read(&text, kind, expose.unwrap_or(true));
            let value = read.value.map(js::to_js);
            if let (Some(value), Some(exposed)) = (&value, read.repeatable) {
                driver.read_cache().remember(&key, value, exposed);
            }
            (value, read.expose)
        });
        let Some((value, must_expose)) = read else {
            return default_value;
        };
        if must_expose {
            // Segment is read only now, for the exposure: a read that exposes nothing costs no
            // call into analytics.js.
            driver.run(|engine, segment| engine.expose_flag(now(), &text, segment));
        }
        value.unwrap_or(default_value)
    }

    /// Sends the exposure of a flag; false when no campaign sets it.
    #[wasm_bindgen(js_name = exposeFlag)]
    pub fn expose_flag(&self, key: JsValue) -> bool {
        let Some(key) = key.as_string() else {
            return false;
        };
        self.driver
            .run(|engine, segment| engine.expose_flag(now(), &key, segment))
            .unwrap_or(false)
    }

    /// Metadata of the campaign that sets `key`, or `null`.
    #[wasm_bindgen(js_name = flagMetadata)]
    pub fn flag_metadata(&self, key: JsValue) -> JsValue {
        let Some(key) = key.as_string() else {
            return JsValue::NULL;
        };
        self.driver
            .peek(|engine| engine.flag_metadata(&key).map(|m| js::metadata(&m)))
            .flatten()
            .unwrap_or(JsValue::NULL)
    }

    /// Every flag with a value, without exposure.
    #[wasm_bindgen(js_name = getFlags)]
    pub fn get_flags(&self) -> JsValue {
        self.driver
            .peek(|engine| js::flags_object(engine.flags()))
            .unwrap_or_else(|| Object::new().into())
    }

    /// Adds a listener for `"change"`, `"flags"` or `"warning"`; unknown events and
    /// non-functions are ignored with a warning rather than thrown.
    pub fn on(&self, event: JsValue, listener: JsValue) {
        if let Some((event, listener)) = self.listener_args(&event, listener) {
            self.driver.on(event, listener);
        }
    }

    /// Removes a listener.
    pub fn off(&self, event: JsValue, listener: JsValue) {
        if let Some((event, listener)) = self.listener_args(&event, listener) {
            self.driver.off(event, &listener);
        }
    }

    /// Merges `context` into the context and re-decides if it changed.
    #[wasm_bindgen(js_name = updateContext)]
    pub fn update_context(&self, context: JsValue) -> Promise {
        let mut warnings = alloc::vec::Vec::new();
        let context = match options::context(&context, &mut warnings) {
            Ok(context) => context,
            Err(error) => return Promise::reject(&to_js_error(&error)),
        };
        for warning in &warnings {
            log::warn(self.level(), "OPTION_IGNORED", warning);
        }
        let deciding = self
            .driver
            .run_alone(|engine| engine.update_context(now(), context))
            .unwrap_or(false);
        match deciding {
            true => self.driver.settled(),
            false => Promise::resolve(&JsValue::UNDEFINED),
        }
    }

    /// Sends an EVENT hit; false (with a warning) when refused or not sent.
    pub fn track(&self, action: JsValue, properties: JsValue) -> bool {
        self.hit(hit_input::hit(HitMethod::Track, &[&action, &properties]))
    }

    /// Sends a TRANSACTION hit.
    pub fn transaction(&self, properties: JsValue) -> bool {
        self.hit(hit_input::hit(HitMethod::Transaction, &[&properties]))
    }

    /// Sends an ITEM hit.
    pub fn item(&self, properties: JsValue) -> bool {
        self.hit(hit_input::hit(HitMethod::Item, &[&properties]))
    }

    /// Sends a PAGEVIEW hit for `url` (default: the current location).
    pub fn page(&self, url: JsValue) -> bool {
        self.hit(hit_input::hit(HitMethod::Page, &[&url]))
    }

    /// Gives or withdraws the visitor's consent, and sends the consent hit.
    #[wasm_bindgen(js_name = setConsent)]
    pub fn set_consent(&self, granted: JsValue) {
        match granted.as_bool() {
            Some(granted) => {
                self.driver
                    .run_alone(|engine| engine.set_consent(now(), granted));
            }
            None => log::warn(
                self.level(),
                "INVALID_CONSENT",
                "setConsent: expects a boolean; consent unchanged",
            ),
        }
    }

    /// A plain object describing the module's state for support tickets: nothing in it is a
    /// full ID or key.
    pub fn diagnose(&self) -> JsValue {
        diagnose(&self.driver)
    }

    /// Sends every queued hit and activation now.
    pub fn flush(&self) -> Promise {
        let id = self.driver.run_alone(|engine| engine.flush(now()));
        self.driver.flushed(id)
    }

    /// Sends what is queued, then stops the module.
    pub fn close(&self) -> Promise {
        self.driver.close()
    }
}

impl FlagshipSegment {
    fn listener_args(&self, event: &JsValue, listener: JsValue) -> Option<(Event, Function)> {
        let Some(event) = event.as_string().as_deref().and_then(Event::parse) else {
            log::warn(
                self.level(),
                "INVALID_LISTENER",
                "on/off: event must be \"change\", \"flags\" or \"warning\"",
            );
            return None;
        };
        match listener.dyn_into::<Function>() {
            Ok(listener) => Some((event, listener)),
            Err(_) => {
                log::warn(
                    self.level(),
                    "INVALID_LISTENER",
                    "on/off: listener must be a function",
                );
                None
            }
        }
    }
}

/// Builds the analytics-next plugin.
#[wasm_bindgen(js_name = flagshipSegmentPlugin, skip_typescript)]
pub fn flagship_segment_plugin(options: JsValue) -> Result<JsValue, JsValue> {
    let read = read_options(&options)?;
    log_warnings(&read);
    let (config, preloaded) = (read.config, read.preloaded);
    let driver: Rc<RefCell<Option<Rc<Driver>>>> = Rc::default();
    let mut resolve_started = None;
    let started = Promise::new(&mut |resolve, _| resolve_started = Some(resolve));

    let plugin = Object::new();
    js::set(&plugin, "name", &JsValue::from_str("Flagship Segment"));
    js::set(&plugin, "type", &JsValue::from_str("enrichment"));
    js::set(&plugin, "version", &JsValue::from_str(SDK_VERSION));
    js::set(&plugin, "flagship", &started);
    let is_loaded = Closure::<dyn FnMut() -> bool>::new(|| true);
    js::set(&plugin, "isLoaded", &is_loaded.into_js_value());

    let loaded = Rc::clone(&driver);
    let load = Closure::<dyn FnMut(JsValue, JsValue) -> Promise>::new(
        move |_ctx: JsValue, analytics: JsValue| {
            // Segment awaits load() before delivering events: start in the background so the
            // page's analytics never waits for a Decision API round trip.
            let idle = loaded.borrow().is_none();
            if let (Some(resolve), true) = (resolve_started.take(), idle) {
                let segment = Segment::new(Source::Instance(analytics), config.traits.clone());
                let started = Driver::start(
                    config.clone(),
                    segment,
                    preloaded.clone(),
                    Listeners::default(),
                );
                *loaded.borrow_mut() = Some(Rc::clone(&started));
                let settled = started.settled();
                let _ = then(&settled, move || {
                    let handle = FlagshipSegment { driver: started }.into_page_handle();
                    let _ = resolve.call1(&JsValue::UNDEFINED, &handle);
                    JsValue::UNDEFINED
                });
            }
            Promise::resolve(&JsValue::UNDEFINED)
        },
    );
    js::set(&plugin, "load", &load.into_js_value());

    // Segment calls enrichment plugins with the identify event before delivering it, and after
    // `user()` already holds the new userId: the module switches before Segment's own event
    // fires.
    let identify = Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |ctx: JsValue| {
        if let Some(driver) = driver.borrow().as_ref() {
            driver.run(|engine, segment| {
                engine.handle_segment_event(now(), SegmentEvent::IdentifyHook, segment)
            });
        }
        ctx
    });
    js::set(&plugin, "identify", &identify.into_js_value());
    Ok(plugin.into())
}

/// The kind of value a default asks for: `typeof`, with arrays told apart from objects.
fn kind_of(default_value: &JsValue) -> ValueKind {
    if default_value.is_undefined() || default_value.is_null() {
        ValueKind::Any
    } else if default_value.as_bool().is_some() {
        ValueKind::Bool
    } else if default_value.as_f64().is_some() {
        ValueKind::Number
    } else if default_value.is_string() {
        ValueKind::String
    } else if js_sys::Array::is_array(default_value) {
        ValueKind::Array
    } else {
        ValueKind::Object
    }
}

/// A JS `Error` with the message and a `code` property.
fn to_js_error(error: &Error) -> JsValue {
    let js_error = js_sys::Error::new(&error.message());
    js::set(&js_error, "code", &JsValue::from_str(error.code()));
    js_error.into()
}
