// The edge function the e2e tests run in the Edge Runtime: examples/edge/next/middleware.ts as
// Next.js calls it (a NextRequest for the incoming request, its response as is: the page's
// request headers travel as Next.js's x-middleware-request-* headers), with the probe on /_probe.
import { NextRequest } from "next/server";
import { middleware } from "./next/middleware.ts";
import { withProbe } from "./probe.js";

const handle = withProbe((request) => middleware(new NextRequest(request)));
addEventListener("fetch", (event) => event.respondWith(handle(event.request)));
