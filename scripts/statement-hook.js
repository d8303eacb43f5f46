// Preloaded into the app by scripts/count-statements.js (`node -r ./scripts/statement-hook.js dist/src/main.js`):
// records every statement the pg driver sends, and answers the parent's IPC messages `start` / `stop` with the
// statements and the app process's CPU time in between.
'use strict';
const pg = require('pg');

let recording = null;
let cpuAtStart = null;
let startedUs = 0n;
const original = pg.Client.prototype.query;
pg.Client.prototype.query = function query(config, ...rest) {
  if (recording) {
    const text = typeof config === 'string' ? config : (config?.text ?? String(config));
    recording.push(text.replace(/\s+/g, ' ').trim());
  }
  return original.call(this, config, ...rest);
};
process.on('message', (message) => {
  if (message === 'start') {
    recording = [];
    cpuAtStart = process.cpuUsage();
    startedUs = process.hrtime.bigint() / 1000n;
    process.send({ started: true });
  } else if (message === 'stop') {
    const used = process.cpuUsage(cpuAtStart);
    // monotonic microseconds, the clock of a --cpu-prof profile: profile-summary.js --from/--to
    const window = { fromUs: String(startedUs), toUs: String(process.hrtime.bigint() / 1000n) };
    process.send({ statements: recording ?? [], cpuUs: used.user + used.system, window });
    recording = null;
  }
});
