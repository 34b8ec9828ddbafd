// `next/server` for the edge bundle of tests/e2e/edge/host-edge-light.js: Next.js's own ES build
// of NextRequest and NextResponse (the pinned `next` devDependency). Next.js's bundler gives edge
// code its ES build of next/server; the package's main file is CommonJS for Node, which expects
// `__dirname` and does not evaluate in the Edge Runtime.
export { NextRequest } from 'next/dist/esm/server/web/spec-extension/request.js'
export { NextResponse } from 'next/dist/esm/server/web/spec-extension/response.js'
