import 'reflect-metadata';
import { Logger, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SandboxClockService } from './clock/sandbox-clock.service';
import { SandboxModule } from './sandbox.module';
import { sandboxSettings } from './sandbox-settings';

/**
 * The emulators as their own process (`node dist/sandbox/standalone.js`), for the crash-point fault suite
 * (test/faults): the app under test runs with SANDBOX=false and every *_API_URL pointing here, so the
 * emulators outlive the app's SIGKILL and keep counting charges and reports. Environment:
 * SANDBOX_PORT (listen), SANDBOX_APP_URL (where webhooks go), and the same secrets as the app (defaults: the
 * sandbox's own, see sandbox-settings.ts).
 */
async function main(): Promise<void> {
  const port = Number(process.env.SANDBOX_PORT ?? '4100');
  const appUrl = process.env.SANDBOX_APP_URL ?? 'http://127.0.0.1:3000';
  const clock = new SandboxClockService();
  const app = await NestFactory.create(SandboxModule.forRoot(sandboxSettings(process.env, appUrl), clock), {
    logger: ['error', 'warn'],
    // Smart Glocal's emulator verifies signatures on the exact bytes received
    rawBody: true,
  });
  app.useGlobalPipes(new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }));
  await app.listen(port, '127.0.0.1');
  new Logger('Sandbox').warn(`standalone sandbox on http://127.0.0.1:${port}/sandbox, webhooks to ${appUrl}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
