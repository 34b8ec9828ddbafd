// The same SPA with Segment's snippet: the Provider finds analytics.js on `window.analytics`.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { FlagshipSegmentProvider } from "flagship-segment/react";
import { Checkout } from "../Checkout.jsx";
import { loadSegmentSnippet } from "../segment-snippet.js";
import { flagship, segmentWriteKey } from "./settings.js";

loadSegmentSnippet(segmentWriteKey);

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <FlagshipSegmentProvider {...flagship}>
      <Checkout />
    </FlagshipSegmentProvider>
  </StrictMode>,
);
