// Type-level test of flagship-segment/react (js/react.d.ts, copied to pkg/react/index.d.ts),
// checked by `tsc -p tests/types` with React's own types. Nothing here runs; each
// `@ts-expect-error` line must stay an error.
import { StrictMode, type ReactElement } from "react";
import {
  FlagshipSegmentProvider,
  useFlag,
  useFlagship,
  type FlagshipSegmentProviderProps,
  type FlagshipState,
  type InitialDecision,
} from "flagship-segment/react";
import { decideFromCookies } from "flagship-segment/server";
import type { Diagnosis, FlagMetadata, FlagshipSegment, FlagValue, Status } from "flagship-segment/web";

/** Compiles only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<A>() {
  return <B,>(_value: B, ..._proof: Equal<A, B> extends true ? [] : [never]) => {};
}

function Reads() {
  // Typed by the default, widened, as getFlag.
  expectType<string>()(useFlag("btnColor", "grey"));
  expectType<number>()(useFlag("discount", 0));
  expectType<boolean>()(useFlag("newCheckout", false));
  expectType<string[]>()(useFlag("tags", ["a"] as string[]));
  expectType<{ size: number }>()(useFlag("layout", { size: 1 }));
  expectType<FlagValue | null>()(useFlag("anything", null));
  // @ts-expect-error the key is a string
  useFlag(42, "grey");
  // @ts-expect-error a function is no flag value
  useFlag("fn", () => 1);
  // @ts-expect-error the default is required
  useFlag("btnColor");

  const state = useFlagship();
  expectType<FlagshipState>()(state);
  expectType<Status>()(state.status);
  expectType<string | undefined>()(state.visitorId);
  expectType<string>()(state.getFlag("btnColor", "grey"));
  expectType<number>()(state.getFlag("discount", 0, false));
  expectType<boolean>()(state.track("signup", { value: 1 }));
  expectType<FlagMetadata | null>()(state.flagMetadata("btnColor"));
  expectType<Diagnosis | null>()(state.diagnose());
  expectType<FlagshipSegment | null>()(state.instance);
  const code: string | undefined = state.error?.code;
  // @ts-expect-error no status of that name
  const notAStatus: boolean = state.status === "LOADING";
  // @ts-expect-error two categories only
  state.track("signup", { category: "Other" });
  return <p>{code}{String(notAStatus)}</p>;
}

declare const analyticsBrowser: { user(): Promise<unknown> };

export async function page(cookie: string | undefined): Promise<ReactElement> {
  const initialDecision = await decideFromCookies({ envId: "env", apiKey: "key", cookie });
  expectType<InitialDecision | null>()(initialDecision);
  // null (no Segment cookie) is accepted as it is: the Provider then decides in the browser.
  const props: FlagshipSegmentProviderProps = { envId: "env", apiKey: "key", initialDecision };
  const withText: FlagshipSegmentProviderProps = { envId: "env", apiKey: "key", initialDecision: JSON.stringify(initialDecision) };
  // @ts-expect-error the Provider takes no visitor ID either
  const withVisitor: FlagshipSegmentProviderProps = { envId: "env", apiKey: "key", visitorId: "someone" };
  return (
    <StrictMode>
      <FlagshipSegmentProvider {...props}>
        <Reads />
      </FlagshipSegmentProvider>
      <FlagshipSegmentProvider {...withText} analytics={analyticsBrowser} context={{ plan: "pro" }} logLevel="debug">
        <Reads />
      </FlagshipSegmentProvider>
      {/* @ts-expect-error envId and apiKey are required */}
      <FlagshipSegmentProvider envId="env">
        <Reads />
      </FlagshipSegmentProvider>
      {/* @ts-expect-error no visitor ID */}
      <FlagshipSegmentProvider envId="env" apiKey="key" anonymousId="someone" />
      {String(withVisitor)}
    </StrictMode>
  );
}
