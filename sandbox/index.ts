import { DynamicModule, Logger } from '@nestjs/common';
import { SandboxClockService } from './clock/sandbox-clock.service';
import { SandboxModule } from './sandbox.module';
import { generatedKeyFile, sandboxEncryptionKey, sandboxEnv, sandboxSettings } from './sandbox-settings';

/**
 * The sandbox's entry point, loaded by the app with a dynamic import only when SANDBOX=true (see
 * src/sandbox-loader.ts for the contract; this folder imports nothing from src/).
 */
export interface CreateSandboxOptions {
  publicUrl: string;
  dataDir: string;
  port: number;
  /** the explicit environment; it wins over the defaults returned in `env` */
  env: Readonly<Record<string, string | undefined>>;
}

export interface CreatedSandbox {
  env: Record<string, string>;
  clock: SandboxClockService;
  module: DynamicModule;
}

export function createSandbox(options: CreateSandboxOptions): CreatedSandbox {
  const env = sandboxEnv(options);
  if (!options.env.ENCRYPTION_KEY) {
    env.ENCRYPTION_KEY = sandboxEncryptionKey(options.dataDir);
    new Logger('Sandbox').warn(
      `ENCRYPTION_KEY not set: using a generated sandbox key kept in ${generatedKeyFile(options.dataDir)}`,
    );
  }
  const clock = new SandboxClockService();
  const settings = sandboxSettings({ ...env, ...options.env }, options.publicUrl);
  return { env, clock, module: SandboxModule.forRoot(settings, clock) };
}
