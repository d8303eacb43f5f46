import { DynamicModule } from '@nestjs/common';
import { join } from 'node:path';
import { Clock } from './common/clock/clock';
import { ConfigError } from './config/config.factory';

/**
 * The contract between the app and the sandbox (top-level `sandbox/`, DESIGN §2 and §7). Declared here so
 * production code never imports the sandbox: it is loaded by path, only when SANDBOX=true, and is absent
 * from the production build. `test/contract/sandbox-boundary.spec.ts` checks that sandbox/index.ts fits it.
 */
export interface SandboxOptions {
  publicUrl: string;
  dataDir: string;
  port: number;
  /** the explicit environment: values set here win over the sandbox's defaults */
  env: Readonly<Record<string, string | undefined>>;
}

export interface Sandbox {
  /** a default for every variable the sandbox emulates (*_API_URL, keys, secrets, ENCRYPTION_KEY) */
  env: Record<string, string>;
  /** the test clock: becomes the app's Clock (`POST /sandbox/clock/advance` moves it) */
  clock: Clock;
  /** the emulators' routes under /sandbox */
  module: DynamicModule;
}

export interface SandboxEntryPoint {
  createSandbox(options: SandboxOptions): Sandbox;
}

// dist/src -> dist/sandbox (development build), src -> sandbox (ts-jest). A computed path: the TypeScript
// compiler does not follow it, so the production build neither contains nor needs the sandbox.
const SANDBOX_ENTRY = join(__dirname, '..', 'sandbox', 'index');

/** Loads the sandbox (SANDBOX=true). A build without it (the production build) is a ConfigError naming SANDBOX. */
export async function loadSandbox(options: SandboxOptions): Promise<Sandbox> {
  let entry: SandboxEntryPoint;
  try {
    entry = (await import(SANDBOX_ENTRY)) as SandboxEntryPoint;
  } catch (err) {
    if (
      err instanceof Error &&
      'code' in err &&
      err.code === 'MODULE_NOT_FOUND' &&
      err.message.includes(SANDBOX_ENTRY)
    ) {
      throw new ConfigError(
        `SANDBOX=true but this build has no sandbox (${SANDBOX_ENTRY} is missing: the production build leaves it out); set SANDBOX=false`,
      );
    }
    throw err;
  }
  return entry.createSandbox(options);
}
