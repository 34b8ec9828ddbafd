// Types of the classic script-tag build (web/flagship-segment.js): the `window.FlagshipSegment`
// global. `import type {} from "flagship-segment/web/flagship-segment.js"` anywhere in a project
// declares it.
import type {
  FlagshipSegment,
  FlagshipSegmentPlugin,
  PluginOptions,
  StartOptions,
} from "./flagship_segment.js";

/** What `<script src=".../flagship-segment.js">` puts on `window.FlagshipSegment`. */
export interface FlagshipSegmentGlobal {
  /** Loads the .wasm next to the script (once), then starts like the module's `start`. */
  start(options: StartOptions): Promise<FlagshipSegment>;
  /** The module started from the tag's `data-env-id` / `data-api-key` (rejects if that start
   *  fails); without them, the first module the page starts with `start`. */
  ready: Promise<FlagshipSegment>;
  /** Loads the .wasm, then builds the analytics-next plugin. */
  plugin(options: PluginOptions): Promise<FlagshipSegmentPlugin>;
  /** Package version. */
  version: string;
}

declare global {
  interface Window {
    FlagshipSegment: FlagshipSegmentGlobal;
  }
}
