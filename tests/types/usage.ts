// Type-level test of the generated declarations (pkg/flagship_segment.d.ts, pkg/web/…): every
// export, option and return type, checked by `tsc --noEmit -p tests/types` (./run test). Nothing
// here runs; a wrong type is a compile error, and each `@ts-expect-error` line must stay an error.
import {
  start,
  flagshipSegmentPlugin,
  FlagshipSegment,
  type ChangeEvent,
  type ContextValue,
  type Endpoints,
  type ErrorCode,
  type FlagMetadata,
  type FlagshipError,
  type FlagshipSegmentPlugin,
  type FlagValue,
  type PluginOptions,
  type StartOptions,
  type Status,
  type Transaction,
  type Item,
  type Diagnosis,
  type DeliveryCounters,
  type EventProperties,
} from "flagship-segment";
import init, { initSync, start as startWeb, type FlagshipSegment as WebFlagshipSegment } from "flagship-segment/web";
import * as web from "flagship-segment/web";
import type { FlagshipSegmentGlobal } from "flagship-segment/web/flagship-segment.js";

/** Compiles only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<A>() {
  return <B>(_value: B, ..._proof: Equal<A, B> extends true ? [] : [never]) => {};
}

const endpoints: Endpoints = {
  decision: "https://decision.example.test",
  events: "https://events.example.test",
  cdn: "https://cdn.example.test",
};

// Every option of `start`.
const options: StartOptions = {
  envId: "env",
  apiKey: "key",
  endpoints,
  timeoutMs: 2000,
  segmentTimeoutMs: 3000,
  globalKey: "analytics",
  analytics: { user: () => ({}) },
  fallback: "storage",
  idPolicy: "anonymous",
  context: { plan: "pro", age: 34, beta: true },
  consent: true,
  logLevel: "debug",
  traits: ["plan", "country"],
  keepFlagsDuringRefresh: false,
  mode: "bucketing",
  pollingIntervalMs: 0,
  initialBucketing: { campaigns: [] },
  flushIntervalMs: 5000,
  batchSize: 10,
  activationDedupeMs: 1_800_000,
  segmentExperimentViewed: true,
  ensureSegmentKnows: "track",
  segmentKnowsTimeoutMs: 5000,
};
const textBucketing: StartOptions = { envId: "env", apiKey: "key", initialBucketing: "{\"campaigns\":[]}" };
const minimal: StartOptions = { envId: "env", apiKey: "key" };
for (const fallback of ["none", "storage"] as const) minimal.fallback = fallback;
for (const level of ["none", "error", "warn", "info", "debug"] as const) minimal.logLevel = level;
for (const policy of ["user", "anonymous"] as const) minimal.idPolicy = policy;
for (const mode of ["api", "bucketing"] as const) minimal.mode = mode;
for (const gate of ["wait", "track", "off"] as const) minimal.ensureSegmentKnows = gate;

// There is no way to choose the visitor: the ID always comes from Segment.
// @ts-expect-error visitorId is not an option
const withVisitor: StartOptions = { envId: "env", apiKey: "key", visitorId: "someone" };
// @ts-expect-error anonymousId is not an option either
const withAnonymous: StartOptions = { envId: "env", apiKey: "key", anonymousId: "someone" };
// @ts-expect-error envId and apiKey are required
const missingKey: StartOptions = { envId: "env" };
// @ts-expect-error timeoutMs is a number
const stringTimeout: StartOptions = { envId: "env", apiKey: "key", timeoutMs: "2000" };
// @ts-expect-error unknown fallback
const badFallback: StartOptions = { envId: "env", apiKey: "key", fallback: "mint" };
// @ts-expect-error context values are strings, numbers or booleans
const nestedContext: StartOptions = { envId: "env", apiKey: "key", context: { nested: { a: 1 } } };
// @ts-expect-error the gate has three modes
const badGate: StartOptions = { envId: "env", apiKey: "key", ensureSegmentKnows: "skip" };
// @ts-expect-error mode is "api" or "bucketing"
const badMode: StartOptions = { envId: "env", apiKey: "key", mode: "edge" };
// @ts-expect-error the plugin gets its analytics from Segment
const pluginWithAnalytics: PluginOptions = { envId: "env", apiKey: "key", analytics: { user: () => null } };

const contextValue: ContextValue = "x";
// @ts-expect-error null is not a context value
const nullContext: ContextValue = null;

async function main() {
  const started = start(options);
  expectType<Promise<FlagshipSegment>>()(started);
  const flagship = await started;

  expectType<string | undefined>()(flagship.visitorId);
  expectType<string | undefined>()(flagship.anonymousId);
  expectType<Status>()(flagship.status);
  expectType<FlagshipError | null>()(flagship.lastError);
  const code: ErrorCode | undefined = flagship.lastError?.code;
  const message: string | undefined = flagship.lastError?.message;
  const ready: boolean = flagship.status === "READY";
  // @ts-expect-error not a status
  const notAStatus: boolean = flagship.status === "OK";
  // @ts-expect-error read-only
  flagship.visitorId = "someone";

  // Reads keep the default's type, widened: a flag set to "blue" is still a string.
  expectType<string>()(flagship.getFlag("btnColor", "grey"));
  expectType<number>()(flagship.getFlag("discount", 0));
  expectType<boolean>()(flagship.getFlag("banner", false, false));
  expectType<string[]>()(flagship.getFlag("tags", ["a"] as string[]));
  expectType<{ size: number }>()(flagship.getFlag("layout", { size: 1 }));
  expectType<FlagValue | null>()(flagship.getFlag("anything", null));
  expectType<FlagValue | undefined>()(flagship.getFlag("anything", undefined));
  // @ts-expect-error the key is a string
  flagship.getFlag(42, "grey");
  // @ts-expect-error a function is no flag value
  flagship.getFlag("fn", () => 1);
  // @ts-expect-error expose is a boolean
  flagship.getFlag("btnColor", "grey", "yes");

  expectType<boolean>()(flagship.exposeFlag("btnColor"));
  expectType<FlagMetadata | null>()(flagship.flagMetadata("btnColor"));
  const metadata = flagship.flagMetadata("btnColor");
  if (metadata) {
    const ids: string[] = [metadata.campaignId, metadata.variationGroupId, metadata.variationId];
    const names: (string | null)[] = [
      metadata.campaignName, metadata.slug, metadata.campaignType,
      metadata.variationGroupName, metadata.variationName,
    ];
    const reference: boolean = metadata.isReference;
  }
  expectType<Record<string, FlagValue>>()(flagship.getFlags());

  const onChange = (event: ChangeEvent) => {
    expectType<string | null>()(event.visitorId);
    expectType<string | null>()(event.anonymousId);
    expectType<"identify" | "reset" | "anonymous-id" | "refresh">()(event.reason);
  };
  const onFlags = (flags: Record<string, FlagValue>) => {};
  flagship.on("change", onChange);
  flagship.on("flags", onFlags);
  flagship.off("change", onChange);
  flagship.off("flags", onFlags);
  // @ts-expect-error unknown event
  flagship.on("ready", () => {});
  // @ts-expect-error a change listener receives a ChangeEvent, not flags
  flagship.on("change", (flags: Record<string, number>) => {});

  expectType<Promise<void>>()(flagship.updateContext({ plan: "free", age: 35, beta: false }));
  // @ts-expect-error context values are primitives
  flagship.updateContext({ list: [1, 2] });
  // Hits, consent, delivery, diagnosis.
  expectType<boolean>()(flagship.track("signup", { label: "hero", value: 1, category: "User Engagement" }));
  expectType<boolean>()(flagship.track("signup"));
  // @ts-expect-error two categories only
  flagship.track("signup", { category: "Other" });
  const transaction: Transaction = { id: "T1", affiliation: "checkout", revenue: 12.5, currency: "EUR" };
  expectType<boolean>()(flagship.transaction(transaction));
  const item: Item = { transactionId: "T1", name: "Mug", code: "SKU-1", quantity: 2 };
  expectType<boolean>()(flagship.item(item));
  // @ts-expect-error an item needs its SKU
  flagship.item({ transactionId: "T1", name: "Mug" });
  expectType<boolean>()(flagship.page());
  expectType<boolean>()(flagship.page("https://shop.test/cart"));
  expectType<void>()(flagship.setConsent(false));
  const onWarning = (warning: { code: string; message: string }) => {};
  flagship.on("warning", onWarning);
  flagship.off("warning", onWarning);
  const diagnosis: Diagnosis = flagship.diagnose();
  const counters: DeliveryCounters = diagnosis.hits;
  const seen: boolean | null = diagnosis.seenBySegment;
  const flavour: string = diagnosis.segment.flavour;
  const properties: EventProperties = { value: counters.sent };
  expectType<Promise<void>>()(flagship.flush());
  expectType<Promise<void>>()(flagship.close());
  flagship.free();
  // @ts-expect-error no public constructor: modules come from start()
  new FlagshipSegment();

  // The analytics-next plugin.
  const plugin = flagshipSegmentPlugin({ envId: "env", apiKey: "key", context: { plan: "pro" } });
  expectType<FlagshipSegmentPlugin>()(plugin);
  expectType<"Flagship Segment">()(plugin.name);
  expectType<"enrichment">()(plugin.type);
  expectType<string>()(plugin.version);
  expectType<boolean>()(plugin.isLoaded());
  expectType<Promise<void>>()(plugin.load({}, {}));
  plugin.identify({});
  expectType<Promise<FlagshipSegment>>()(plugin.flagship);
  // @ts-expect-error no visitor ID for the plugin either
  flagshipSegmentPlugin({ envId: "env", apiKey: "key", userId: "someone" });

  // The --target web build: init first (optionally with the .wasm URL), then the same API.
  expectType<Promise<void>>()(init());
  await init({ module_or_path: new URL("https://cdn.example.test/flagship_segment_bg.wasm") });
  initSync({ module: new Uint8Array() });
  expectType<Promise<WebFlagshipSegment>>()(startWeb(minimal));
  const handle: FlagshipSegment = await startWeb(minimal);
  void handle;
  // @ts-expect-error the web entry exports no class: start() resolves to an object with its members
  void web.FlagshipSegment;

  // The script-tag global.
  const global: FlagshipSegmentGlobal = window.FlagshipSegment;
  expectType<Promise<FlagshipSegment>>()(global.ready);
  expectType<Promise<FlagshipSegment>>()(global.start(minimal));
  expectType<Promise<FlagshipSegmentPlugin>>()(global.plugin({ envId: "env", apiKey: "key" }));
  expectType<string>()(global.version);
  // @ts-expect-error the global refuses a visitor ID too
  global.start({ envId: "env", apiKey: "key", visitorId: "someone" });

  return [textBucketing, contextValue, code, message, ready, notAStatus, withVisitor, withAnonymous,
    missingKey, stringTimeout, badFallback, nestedContext, badMode, pluginWithAnalytics, nullContext,
    badGate];
}

export { main };
