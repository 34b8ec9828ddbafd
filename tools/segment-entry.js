// Entry of www/vendor/segment.js: the npm build of @segment/analytics-next has bare imports a
// browser cannot resolve, so `./run build` bundles it with esbuild into one ES module. Pages then
// load the real library from their own origin, with no Segment CDN.
export { AnalyticsBrowser } from '@segment/analytics-next'
