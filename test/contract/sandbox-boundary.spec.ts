import { readdirSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import * as ts from 'typescript';
import * as sandboxEntry from '../../sandbox';
import { loadConfig } from '../../src/config/config.factory';
import { gatewayConfigSections } from '../../src/gateways/gateway-config';
import { SandboxEntryPoint } from '../../src/sandbox-loader';

/**
 * The sandbox boundary (DESIGN §2), checked on the files themselves so it cannot silently regress even if
 * the lint rule is switched off: production code never reaches the sandbox or ajv, by any kind of import;
 * the sandbox never reaches production code; the production build's program contains no sandbox file.
 */
const ROOT = resolve(__dirname, '..', '..');
const SANDBOX_DIR = join(ROOT, 'sandbox');
const SRC_DIR = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      return sourceFiles(path);
    }
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** Every module specifier: `import ... from`, `export ... from`, `import('...')`, `require('...')`. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  const patterns = [
    /\bfrom\s+['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]/g,
    /^\s*import\s+['"]([^'"]+)['"]/gm,
  ];
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) {
      found.push(match[1] ?? '');
    }
  }
  return found;
}

const inside = (path: string, dir: string): boolean => path === dir || path.startsWith(dir + sep);

/** `file: specifier` for every import of `file` that resolves into `forbiddenDir` or names a forbidden package. */
function violations(files: string[], forbiddenDir: string, forbiddenPackages: string[] = []): string[] {
  return files.flatMap((file) =>
    specifiers(file)
      .filter((spec) =>
        spec.startsWith('.')
          ? inside(resolve(dirname(file), spec), forbiddenDir)
          : forbiddenPackages.some((name) => spec === name || spec.startsWith(`${name}/`)),
      )
      .map((spec) => `${relative(ROOT, file)}: ${spec}`),
  );
}

describe('the sandbox boundary', () => {
  const production = [...sourceFiles(SRC_DIR), ...sourceFiles(join(ROOT, 'migrations'))];
  const sandbox = sourceFiles(SANDBOX_DIR);

  it('finds the files it checks', () => {
    expect(production.length).toBeGreaterThan(50);
    expect(sandbox.length).toBeGreaterThan(30);
    expect(violations([join(SANDBOX_DIR, 'index.ts')], SANDBOX_DIR)).not.toEqual([]);
  });

  it('production code imports neither the sandbox nor ajv', () => {
    expect(violations(production, SANDBOX_DIR, ['ajv', 'ajv-formats'])).toEqual([]);
  });

  it('the sandbox imports no production code', () => {
    expect(violations(sandbox, SRC_DIR)).toEqual([]);
  });

  it('the production build (tsconfig.build.json) compiles no sandbox file and no ajv', () => {
    const parsed = ts.getParsedCommandLineOfConfigFile(
      join(ROOT, 'tsconfig.build.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    );
    if (!parsed) {
      throw new Error('tsconfig.build.json did not parse');
    }
    // the files tsc would compile: the roots plus everything they reach by a literal import (as tsc follows it)
    const seen = new Set<string>();
    const queue = parsed.fileNames.map((f) => resolve(f));
    while (queue.length > 0) {
      const file = queue.pop() ?? '';
      if (seen.has(file)) {
        continue;
      }
      seen.add(file);
      if (file.includes(`${sep}node_modules${sep}`)) {
        continue;
      }
      for (const imported of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
        const target = ts.resolveModuleName(imported.fileName, file, parsed.options, ts.sys).resolvedModule;
        if (target) {
          queue.push(resolve(target.resolvedFileName));
        }
      }
    }
    const files = [...seen];
    expect(files.some((f) => inside(f, SRC_DIR))).toBe(true);
    expect(files.filter((f) => inside(f, SANDBOX_DIR) || f.includes(`${sep}node_modules${sep}ajv`))).toEqual(
      [],
    );
  });

  it('sandbox/index.ts fulfils the contract the app loads it by, with a default for every required variable', () => {
    // a type error here means src/sandbox-loader.ts and sandbox/index.ts drifted apart
    const entry: SandboxEntryPoint = sandboxEntry;
    const dataDir = mkdtempSync(join(tmpdir(), 'sandbox-entry-'));
    const created = entry.createSandbox({ publicUrl: 'http://localhost:3000', dataDir, port: 3000, env: {} });
    expect(created.env.CLEENG_API_URL).toBe('http://localhost:3000/sandbox/cleeng/3.1');
    expect(typeof created.clock.onAdvance).toBe('function');
    const config = loadConfig(
      { ...created.env, NODE_ENV: 'test', DATA_DIR: dataDir },
      gatewayConfigSections(),
    );
    expect(config.sandbox).toBe(true);
    expect(config.sections.get('adyen')).toMatchObject({
      ADYEN_API_URL: 'http://localhost:3000/sandbox/adyen/v71',
    });
    // the generated key is kept: stored tokens stay readable across restarts
    const again = entry.createSandbox({ publicUrl: 'http://localhost:3000', dataDir, port: 3000, env: {} });
    expect(again.env.ENCRYPTION_KEY).toBe(created.env.ENCRYPTION_KEY);
  });
});
