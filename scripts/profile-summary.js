#!/usr/bin/env node
// node scripts/profile-summary.js <file.cpuprofile> [--top 30] [--per N] [--from US --to US]
// Self time of a `node --cpu-prof` profile by area (the app's src/, the sandbox emulators, each node_modules package,
// node internals, GC, idle) and the top functions by self time outside the emulators and idle. With --per N, the
// times are also given per operation (e.g. per purchase).
'use strict';
const { readFileSync } = require('node:fs');

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node scripts/profile-summary.js <file.cpuprofile> [--top 30] [--per N]\n');
  process.exit(2);
}
const opt = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const top = opt('top', 30);
const per = opt('per', 0);
const profile = JSON.parse(readFileSync(file, 'utf8'));

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map();
const deltas = profile.timeDeltas;
// --from/--to: monotonic microseconds (as printed by count-statements.js) to keep one phase of the run
const from = opt('from', -Infinity);
const to = opt('to', Infinity);
let at = profile.startTime;
for (let i = 0; i < profile.samples.length; i += 1) {
  at += deltas[i] ?? 0;
  if (at < from || at > to) continue;
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i] ?? 0));
}

function area(frame) {
  const url = frame.url ?? '';
  if (frame.functionName === '(idle)' || frame.functionName === '(program)') return frame.functionName;
  if (frame.functionName === '(garbage collector)') return '(gc)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return `npm:${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (/\/dist\/src\//.test(url)) return 'app src/';
  if (/\/dist\/sandbox\//.test(url)) return 'sandbox (emulators)';
  if (/\/dist\/bench\//.test(url)) return 'bench (load generator)';
  if (url.startsWith('node:') || url === '') return 'node internals / native';
  return url;
}

// native and node-internal time charged to the nearest caller that is the app's or a package's
const parentOf = new Map();
for (const node of profile.nodes) {
  for (const child of node.children ?? []) parentOf.set(child, node.id);
}
function ownerArea(id) {
  for (let at = id; at !== undefined; at = parentOf.get(at)) {
    const a = area(byId.get(at).callFrame);
    if (a !== 'node internals / native') return a;
  }
  return 'node internals / native';
}
const owners = new Map();
const areas = new Map();
const functions = new Map();
let total = 0;
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  const frame = node.callFrame;
  const a = area(frame);
  areas.set(a, (areas.get(a) ?? 0) + us);
  const owner = ownerArea(id);
  owners.set(owner, (owners.get(owner) ?? 0) + us);
  total += us;
  if (a !== '(idle)' && a !== 'sandbox (emulators)') {
    const key = `${frame.functionName || '(anonymous)'}  ${(frame.url ?? '').replace(/^.*\/(node_modules|dist)\//, '$1/')}:${frame.lineNumber + 1}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
  }
}
const busy = total - (areas.get('(idle)') ?? 0);
const ms = (us) => (us / 1000).toFixed(0).padStart(7);
const perOp = (us) => (per ? ` ${(us / 1000 / per).toFixed(2).padStart(7)} ms/op` : '');
process.stdout.write(
  `profile ${file}: ${ms(total)} ms sampled, ${ms(busy).trim()} ms busy\n\nself time by area:\n`,
);
for (const [a, us] of [...areas].sort((x, y) => y[1] - x[1])) {
  process.stdout.write(`${ms(us)} ms ${((100 * us) / busy).toFixed(1).padStart(5)} %${perOp(us)}  ${a}\n`);
}
process.stdout.write('\nthe same, node internals and native code charged to their nearest caller:\n');
for (const [a, us] of [...owners].sort((x, y) => y[1] - x[1]).slice(0, top)) {
  process.stdout.write(`${ms(us)} ms ${((100 * us) / busy).toFixed(1).padStart(5)} %${perOp(us)}  ${a}\n`);
}
process.stdout.write(`\ntop ${top} functions by self time (emulators and idle left out):\n`);
for (const [key, us] of [...functions].sort((x, y) => y[1] - x[1]).slice(0, top)) {
  process.stdout.write(`${ms(us)} ms ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${key}\n`);
}
