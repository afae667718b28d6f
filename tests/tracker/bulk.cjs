// Sends tracking requests with the `matomo-tracker` npm package (Matomo's Node.js client) in one
// bulk request, and prints samtycke's answer.
//   node tests/tracker/bulk.cjs <tracker url> <site id> '<JSON list of request objects>'
'use strict';
const MatomoTracker = require('matomo-tracker');

const [trackerUrl, siteId, requests] = process.argv.slice(2);
const tracker = new MatomoTracker(Number(siteId), trackerUrl);
tracker.on('error', (error) => {
  console.error(`tracking failed: ${error}`);
  process.exitCode = 1;
});
tracker.trackBulk(JSON.parse(requests), (body) => process.stdout.write(body));
