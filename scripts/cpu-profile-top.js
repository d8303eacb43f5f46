#!/usr/bin/env node
/**
 * Top entries of a V8 .cpuprofile: self time by function and by package, idle excluded.
 * `node scripts/cpu-profile-top.js FILE [N] [--after FUNCTION]`: only samples after the first one in FUNCTION
 * (e.g. `receive`, to leave out the app's start).
 */
'use strict';
const { readFileSync } = require('node:fs');
const argv = process.argv.slice(2);
const afterAt = argv.indexOf('--after');
const after = afterAt >= 0 ? argv.splice(afterAt, 2)[1] : undefined;
const [file, top = '25'] = argv;
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const inFunction = (id, name) => {
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) if (byId.get(cur).callFrame.functionName === name) return true;
  return false;
};
const self = new Map();
const deltas = profile.timeDeltas;
let counting = after === undefined;
profile.samples.forEach((id, i) => {
  counting ||= inFunction(id, after);
  const name = byId.get(id).callFrame.functionName;
  if (counting && name !== '(idle)') self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
const where = (url) => {
  if (!url) return '(native/vm)';
  const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (m) return m[1];
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const d = url.match(/dist\/(src\/[^/]+|sandbox)/);
  return d ? d[1] : url;
};
const fn = new Map();
const pkg = new Map();
for (const [id, us] of self) {
  const { callFrame: f } = byId.get(id);
  const key = `${f.functionName || '(anonymous)'} ${where(f.url)}:${f.lineNumber + 1}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  const p = f.url ? where(f.url) : f.functionName;
  pkg.set(p, (pkg.get(p) ?? 0) + us);
}
const show = (title, map) => {
  console.log(`\n${title} (total ${(total / 1000).toFixed(0)} ms)`);
  [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(top))
    .forEach(([k, us]) => console.log(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`));
};
show('self time by package', pkg);
show('self time by function', fn);
