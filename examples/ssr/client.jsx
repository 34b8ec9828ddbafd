// The browser half: hydrates what the server rendered, with the same options and the same
// initialDecision, so the first render matches the HTML. The module then starts: with no
// Decision API request when Segment reports the identity the server decided for.
import { StrictMode } from "react";
import { hydrateRoot } from "react-dom/client";
import { FlagshipSegmentProvider } from "flagship-segment/react";
import { Checkout } from "../Checkout.jsx";
import { loadSegmentSnippet } from "../segment-snippet.js";

const { segmentWriteKey, ...flagship } = JSON.parse(document.getElementById("flagship-settings").textContent);
loadSegmentSnippet(segmentWriteKey);

hydrateRoot(
  document.getElementById("root"),
  <StrictMode>
    <FlagshipSegmentProvider {...flagship}>
      <Checkout />
    </FlagshipSegmentProvider>
  </StrictMode>,
);
