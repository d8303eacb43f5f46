/**
 * Reads a V8 `.cpuprofile` (node --cpu-prof) and ranks functions by self time: the share of samples whose
 * top frame is that function, grouped by function name + script (so one function's many nodes in the call
 * tree add up), and by package (node_modules/<pkg>, node internals, the app's own code). Idle samples are left
 * out: the shares are of the time the app was busy.
 */

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber?: number };
  hitCount?: number;
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileEntry {
  /** `file:function` */
  name: string;
  samples: number;
  percent: number;
}

export interface ProfileSummary {
  totalSamples: number;
  /** sampled time, ms */
  durationMs: number;
  /**
   * sampled time not idle, ms. V8 samples by wall clock, so a thread that is ready to run but waits for a
   * core is counted in the frame it waits in (on a shared machine, mostly the socket write that woke the peer):
   * compare with the CPU the thread really used (`mainThreadCpuMs`) before reading a syscall's share as CPU.
   */
  busyMs: number;
  /** CPU time of the app's main (JavaScript) thread over the same phase (/proc), when the caller knows it */
  mainThreadCpuMs?: number;
  functions: ProfileEntry[];
  packages: ProfileEntry[];
}

/** Shortens a script URL: `file:///x/node_modules/typeorm/driver/a.js` -> `typeorm/driver/a.js`. */
export function shortUrl(url: string, root?: string): string {
  let u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    return u.slice(nm + '/node_modules/'.length);
  }
  if (root && u.startsWith(root)) {
    u = u.slice(root.length).replace(/^\//, '');
  }
  return u;
}

/** The node_modules package (scoped ones whole) a script path lies in, if any. */
export function nodeModulesPackage(path: string): string | undefined {
  const nm = path.lastIndexOf('/node_modules/');
  if (nm < 0) {
    return undefined;
  }
  const rest = path.slice(nm + '/node_modules/'.length).split('/');
  return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : rest[0];
}

/** Which package a script belongs to: the node_modules package, `node:internal`, `app` (src/), or the special frame. */
export function packageOf(url: string, functionName: string): string {
  if (url === '') {
    // (garbage collector), (program), (idle), native builtins
    return functionName.startsWith('(') ? functionName : '(native)';
  }
  const u = url.replace(/^file:\/\//, '');
  const pkg = nodeModulesPackage(u);
  if (pkg !== undefined) {
    return pkg;
  }
  if (u.startsWith('node:')) {
    return 'node:internal';
  }
  if (u.includes('/dist/src/')) {
    return 'app (src)';
  }
  if (u.includes('/dist/bench/')) {
    return 'bench probe';
  }
  return u;
}

export function analyseProfile(profile: CpuProfile, top = 15, root?: string): ProfileSummary {
  const byId = new Map<number, CpuProfileNode>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
  }
  const hits = new Map<number, number>();
  let busyMs = 0;
  if (profile.samples && profile.samples.length > 0) {
    const deltas = profile.timeDeltas ?? [];
    profile.samples.forEach((id, i) => {
      hits.set(id, (hits.get(id) ?? 0) + 1);
      if (byId.get(id)?.callFrame.functionName !== '(idle)') {
        busyMs += (deltas[i] ?? 0) / 1000;
      }
    });
  } else {
    for (const node of profile.nodes) {
      hits.set(node.id, node.hitCount ?? 0);
    }
  }
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  let total = 0;
  for (const [id, count] of hits) {
    const node = byId.get(id);
    // (idle): the app was waiting, not spending CPU; the shares are of busy samples
    if (!node || count === 0 || node.callFrame.functionName === '(idle)') {
      continue;
    }
    const { functionName, url } = node.callFrame;
    const fn = functionName || '(anonymous)';
    const name = url ? `${shortUrl(url, root)}:${fn}` : fn;
    functions.set(name, (functions.get(name) ?? 0) + count);
    const pkg = packageOf(url, fn);
    packages.set(pkg, (packages.get(pkg) ?? 0) + count);
    total += count;
  }
  const rank = (m: Map<string, number>): ProfileEntry[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, top)
      .map(([name, samples]) => ({
        name,
        samples,
        percent: total > 0 ? Math.round((samples / total) * 1000) / 10 : 0,
      }));
  const durationMs = (profile.timeDeltas ?? []).reduce((a, b) => a + b, 0) / 1000;
  return {
    totalSamples: total,
    durationMs: Math.round(durationMs),
    busyMs: Math.round(busyMs),
    functions: rank(functions),
    packages: rank(packages),
  };
}
