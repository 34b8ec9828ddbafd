// Types of flagship-segment/react (js/react.mjs).
import type { ReactElement, ReactNode } from "react";
import type {
  Diagnosis,
  EventProperties,
  FlagMetadata,
  FlagshipSegment,
  FlagValue,
  InitialDecision,
  StartOptions,
  Status,
} from "../web/flagship_segment.js";

export type { InitialDecision };

/** The Provider's props: the options of `start` (there is no visitor ID among them either), and
 *  what it wraps. */
export interface FlagshipSegmentProviderProps extends Omit<StartOptions, "initialDecision"> {
  /** What `decideFromCookies` resolved to on the server (or its JSON text); null when the visitor
   *  had no Segment cookie. Reads use its `flags` until the module has started. */
  initialDecision?: InitialDecision | string | null;
  children?: ReactNode;
}

/** Starts flagship-segment once per mount (StrictMode's double mount included) with its props
 *  as `start` options, on the client only, and closes it on unmount. The props are read once, at
 *  mount: give the Provider a new `key` to start again with other options. */
export function FlagshipSegmentProvider(props: FlagshipSegmentProviderProps): ReactElement;

/** A flag's value, typed by its default: a value of another JS type than the default, null or
 *  missing gives the default. Until the module has started (server render, hydration), the
 *  value comes from `initialDecision.flags`. Re-renders on new flags and identity changes; the
 *  read is exposed (the module's gated, deduplicated path) once the render is committed. An
 *  array or object default is taken once per change of flags, not at every render. */
export function useFlag(key: string, defaultValue: string): string;
export function useFlag(key: string, defaultValue: number): number;
export function useFlag(key: string, defaultValue: boolean): boolean;
export function useFlag<T extends FlagValue[] | { [key: string]: FlagValue }>(key: string, defaultValue: T): T;
export function useFlag<D extends null | undefined>(key: string, defaultValue: D): FlagValue | D;

/** What `useFlagship()` returns; a new object whenever flags, identity or status may have changed. */
export interface FlagshipState {
  /** "STARTING" until the module has started, then the module's status. */
  status: Status;
  /** Segment's userId or anonymousId in use; undefined until started. */
  visitorId: string | undefined;
  /** The module's `getFlag` (exposing unless `expose` is false); before start, a read of
   *  `initialDecision.flags` that exposes nothing. Prefer `useFlag` in render. */
  getFlag: FlagshipSegment["getFlag"];
  /** An EVENT hit; false before start (nothing is queued then). */
  track(action: string, properties?: EventProperties): boolean;
  /** The campaign behind a flag; null before start. */
  flagMetadata(key: string): FlagMetadata | null;
  /** The module's diagnosis; null before start. */
  diagnose(): Diagnosis | null;
  /** The started module (updateContext, setConsent, flush, …), or null before start. */
  instance: FlagshipSegment | null;
  /** What `start` rejected with (`code` "INVALID_OPTIONS"), or what loading the module threw;
   *  null otherwise. Flags read their defaults (or `initialDecision`'s) then. */
  error: (Error & { code?: string }) | null;
}

/** The module as a component sees it. */
export function useFlagship(): FlagshipState;
