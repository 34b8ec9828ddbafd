// A React SPA with analytics-next from npm: the instance is handed to the Provider, which starts
// flagship-segment with it once the page has mounted.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { AnalyticsBrowser } from "@segment/analytics-next";
import { FlagshipSegmentProvider } from "flagship-segment/react";
import { Checkout } from "../Checkout.jsx";
import { flagship, segmentWriteKey } from "./settings.js";

const analytics = AnalyticsBrowser.load({ writeKey: segmentWriteKey });
analytics.page();

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <FlagshipSegmentProvider {...flagship} analytics={analytics}>
      <Checkout />
    </FlagshipSegmentProvider>
  </StrictMode>,
);
