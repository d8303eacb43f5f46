import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig, resolveRuntimeMode } from '../config/config.factory';
import { gatewayConfigSections } from '../gateways/gateway-config';
import { loadSandbox } from '../sandbox-loader';
import { CleengClient } from './cleeng.client';
import { CleengSetupError, runCleengSetup } from './cleeng-setup';

const USAGE = `usage: npm run cleeng:setup [-- --dry-run]

Registers this deployment's Cleeng webhook endpoint (PUBLIC_URL/webhooks/cleeng) for the six connector topics,
merged with the endpoints already registered, filtered by CLEENG_PAYMENT_METHODS and verified by HMAC with
CLEENG_WEBHOOK_SECRET; then shows the dunning actions. Reads the same validated configuration as the app.
  --dry-run   print the plan, change nothing`;

/** `npm run cleeng:setup [-- --dry-run]` (node dist/src/cleeng/cleeng-setup.cli.js in a production image). */
async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => a !== '--dry-run' && a !== '--help');
  if (argv.includes('--help') || unknown.length > 0) {
    console.log(unknown.length > 0 ? `unknown argument: ${unknown.join(' ')}\n\n${USAGE}` : USAGE);
    return unknown.length > 0 ? 2 : 0;
  }
  // the command's own lines are its output; per-call debug logs would bury them
  Logger.overrideLogger(['error', 'warn']);
  const env = process.env;
  // the app's own resolution: with SANDBOX=true the sandbox supplies its defaults, explicit values win
  const mode = resolveRuntimeMode(env);
  const sandbox = mode.sandbox
    ? await loadSandbox({ publicUrl: mode.publicUrl, dataDir: mode.dataDir, port: mode.port, env })
    : undefined;
  const explicit = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
  const config = loadConfig(sandbox ? { ...sandbox.env, ...explicit } : env, gatewayConfigSections());
  await runCleengSetup(config, new CleengClient(config), {
    dryRun: argv.includes('--dry-run'),
    print: (line) => console.log(line),
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const known = err instanceof CleengSetupError || err instanceof ConfigError;
    console.error(`cleeng:setup failed: ${err instanceof Error ? err.message : String(err)}`);
    if (!known && err instanceof Error && err.stack) {
      console.error(err.stack);
    }
    process.exit(1);
  },
);
