import 'reflect-metadata';
import { INestApplication, Logger, ValidationPipe } from '@nestjs/common';
import type { Server } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { AdyenWebhookEmitter } from './adyen/adyen-webhook.emitter';
import { CleengWebhookEmitter } from './cleeng/cleeng-webhook.emitter';
import { CleverbridgeNotifier } from './cleverbridge/cleverbridge-notifier';
import { CleverbridgeSandboxController } from './cleverbridge/cleverbridge-sandbox.controller';
import { BareJsonRoute, installBareJsonRoutes } from './shared/bare-json-route';
import { AdyenSandboxController } from './adyen/adyen-sandbox.controller';
import { ADYEN_OPERATIONS, serviceError } from './adyen/adyen-api.types';
import { CleengSandboxController } from './cleeng/cleeng-sandbox.controller';
import { CleengSandboxApi } from './cleeng/cleeng-sandbox.api';
import { CleengResponse } from './cleeng/cleeng-sandbox.wire';
import { SandboxClockService } from './clock/sandbox-clock.service';
import { SandboxModule } from './sandbox.module';
import { sandboxSettings } from './sandbox-settings';

/**
 * The emulators as their own process (`node dist/sandbox/standalone.js`), for the crash-point fault suite
 * (test/faults): the app under test runs with SANDBOX=false and every *_API_URL pointing here, so the
 * emulators outlive the app's SIGKILL and keep counting charges and reports. Environment:
 * SANDBOX_PORT (listen), SANDBOX_APP_URL (where webhooks go), SANDBOX_WEBHOOK_RETRY_DELAYS_MS (comma-separated
 * waits before each redelivery of a webhook the app did not accept; default the emulators' own short schedule),
 * and the same secrets as the app (defaults: the sandbox's own, see sandbox-settings.ts).
 */

/**
 * The vendors keep redelivering a webhook the app did not accept (Adyen: for days, on a growing schedule), so a
 * webhook sent while the app is down arrives after its restart. The in-process emulators give up after a few
 * seconds, fine for tests that never kill the app; the fault suite sets a schedule that spans a restart.
 */
function retryDelays(value: string | undefined): number[] | undefined {
  if (!value) {
    return undefined;
  }
  const delays = value.split(',').map((ms) => Number(ms.trim()));
  if (delays.some((ms) => !Number.isInteger(ms) || ms < 0)) {
    throw new Error(`SANDBOX_WEBHOOK_RETRY_DELAYS_MS must be comma-separated milliseconds, got ${value}`);
  }
  return delays;
}
/**
 * The standalone emulators, not yet listening: the sandbox module alone, with the emulated routes the benchmarks
 * hammer answered ahead of Express (bare-json-route.ts).
 */
export async function createStandaloneSandbox(
  env: NodeJS.ProcessEnv,
  appUrl: string,
): Promise<INestApplication> {
  const clock = new SandboxClockService();
  const app = await NestFactory.create(SandboxModule.forRoot(sandboxSettings(env, appUrl), clock), {
    logger: ['error', 'warn'],
    // Smart Glocal's emulator verifies signatures on the exact bytes received
    rawBody: true,
  });
  app.useGlobalPipes(new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }));
  const delays = retryDelays(env.SANDBOX_WEBHOOK_RETRY_DELAYS_MS);
  if (delays) {
    app.get(AdyenWebhookEmitter).dispatcher.retryDelaysMs = delays;
    app.get(CleengWebhookEmitter).dispatcher.retryDelaysMs = delays;
    app.get(CleverbridgeNotifier).dispatcher.retryDelaysMs = delays;
  }
  installBareJsonRoutes(app.getHttpServer() as Server, bareRoutes(app));
  return app;
}

/**
 * The routes a purchase, a renewal and a rebilling charge call, answered ahead of Express by the same methods the
 * Nest routes call (each controller's `answer…`), so both answer alike. Requests that are not plain JSON (no
 * declared length, a query string, a body that is not a JSON object) still go through Express.
 */
function bareRoutes(app: INestApplication): BareJsonRoute[] {
  const cleverbridge = app.get(CleverbridgeSandboxController);
  const adyen = app.get(AdyenSandboxController);
  const cleeng = app.get(CleengSandboxController);
  const api = app.get(CleengSandboxApi);
  const processCartPath = '/sandbox/cleverbridge/cart/processcart';
  const adyenRoutes: BareJsonRoute[] = ADYEN_OPERATIONS.map((operation) => ({
    method: 'POST',
    path: `/sandbox/adyen/v71${operation.replace('{paymentPspReference}', ':psp')}`,
    answer: ({ headers, body, params }) => adyen.answer(operation, body, headers, params.psp),
    failedBody: serviceError(500, '000', 'Internal Server Error', 'internal').body,
  }));
  const cleengRoute = (
    method: 'POST' | 'PATCH',
    path: string,
    operation: (body: unknown, params: Readonly<Record<string, string>>) => CleengResponse,
  ): BareJsonRoute => ({
    method,
    path: `/sandbox/cleeng/3.1${path}`,
    answer: (request) => cleeng.answer(request, () => operation(request.body, request.params)),
    failedBody: { success: false, message: 'Internal Server Error' },
  });
  return [
    {
      method: 'POST',
      path: processCartPath,
      answer: ({ method, path, headers, body }) =>
        cleverbridge.answerProcessCart({ method, path, authorization: headers.authorization }, body),
      failedBody: { status: 'InternalServerError' },
    },
    ...adyenRoutes,
    cleengRoute('POST', '/orders', (body) => api.createOrder(body)),
    cleengRoute('POST', '/payments', (body) => api.createPayment(body)),
    cleengRoute('PATCH', '/payments/:id', (body, { id }) => api.updatePayment(id ?? '', body)),
    cleengRoute('POST', '/payment_details', (body) => api.createPaymentDetails(body)),
    cleengRoute('PATCH', '/subscriptions/:id', (body, { id }) => api.updateSubscription(id ?? '', body)),
    cleengRoute('POST', '/subscriptions/:id/terminate', (body, { id }) =>
      api.terminateSubscription(id ?? '', body),
    ),
  ];
}

async function main(): Promise<void> {
  const port = Number(process.env.SANDBOX_PORT ?? '4100');
  const appUrl = process.env.SANDBOX_APP_URL ?? 'http://127.0.0.1:3000';
  const app = await createStandaloneSandbox(process.env, appUrl);
  await app.listen(port, '127.0.0.1');
  new Logger('Sandbox').warn(`standalone sandbox on http://127.0.0.1:${port}/sandbox, webhooks to ${appUrl}`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
