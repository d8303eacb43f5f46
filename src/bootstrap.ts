import { INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { raw } from 'express';
import helmet from 'helmet';
import { DataSource } from 'typeorm';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { httpMetricsMiddleware } from './common/metrics/http-metrics.middleware';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module';
import { AppLogger, createLogs, requestLogMiddleware } from './logger';
import { warnIfAutovacuumOff } from './database/autovacuum-check';
import { HttpExceptionFilter } from './common/errors/http-exception.filter';
import { createValidationPipe } from './common/errors/validation';
import { refuseDeepJson } from './common/http/json-depth';
import { AppConfig } from './config/app-config';
import { loadConfig, resolveRuntimeMode } from './config/config.factory';
import { EmbeddedPostgres, startEmbeddedPostgres } from './database/embedded-postgres';
import { gatewayConfigSections } from './gateways/gateway-config';
import { GATEWAY_DEFINITIONS } from './gateways/gateways';
import { loadSandbox, Sandbox } from './sandbox-loader';
import { installWebhookFastPath } from './webhooks/webhook-fast-path';
import { WEBHOOK_BODY_LIMIT_BYTES, WebhookIntake } from './webhooks/webhook-intake';

export interface RunningApp {
  app: INestApplication;
  config: AppConfig;
  url: string;
  close(): Promise<void>;
}

/** Same wiring for `npm start`, tests and benchmarks: config, database, pipes, filter, docs, listen. */
export interface StartOptions {
  /** where logs go (default stdout); tests capture them to prove no secret is ever logged */
  logDestination?: DestinationStream;
}

export async function startApp(
  env: Record<string, string | undefined> = process.env,
  options: StartOptions = {},
): Promise<RunningApp> {
  // SANDBOX first: the sandbox supplies a default for every variable it emulates, explicit values win
  const mode = resolveRuntimeMode(env);
  let sandbox: Sandbox | undefined;
  if (mode.sandbox) {
    sandbox = await loadSandbox({ publicUrl: mode.publicUrl, dataDir: mode.dataDir, port: mode.port, env });
  }
  const config = loadConfig(sandbox ? { ...sandbox.env, ...definedOnly(env) } : env, gatewayConfigSections());
  let embedded: EmbeddedPostgres | undefined;
  let databaseUrl = config.databaseUrl;
  // 20: room for INBOX_CONCURRENCY's 16 handlers beside intake, outbox, reconcilers and rebilling
  let databasePoolSize = config.databasePoolSize ?? 20;
  if (!databaseUrl) {
    new Logger('Database').log(
      `DATABASE_URL not set: starting embedded PostgreSQL (PGlite) in ${config.dataDir}`,
    );
    embedded = await startEmbeddedPostgres(config.dataDir);
    databaseUrl = embedded.url;
    // PGlite serves every connection from one session and interleaves their extended-protocol
    // messages; one connection keeps statements whole (docs/embedded-database.md)
    databasePoolSize = config.databasePoolSize ?? 1;
  }
  // PGlite's one shared session would see every connection's statement names
  const databasePreparedStatements = config.databasePreparedStatements && !embedded;
  const logs = createLogs(
    config,
    options.logDestination,
    GATEWAY_DEFINITIONS.flatMap((d) => d.redactPaths),
  );
  let app: NestExpressApplication;
  try {
    app = await NestFactory.create<NestExpressApplication>(
      AppModule.forRoot(
        { ...config, databaseUrl, databasePoolSize, databasePreparedStatements },
        sandbox ? { clock: sandbox.clock, modules: [sandbox.module] } : {},
      ),
      {
        rawBody: true,
        bufferLogs: true,
      },
    );
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
  app.useLogger(new AppLogger(logs.root));
  if (!embedded) {
    // PGlite has no autovacuum to speak of: a development database, not one that grows
    await warnIfAutovacuumOff(app.get(DataSource));
  }
  app.use(requestLogMiddleware(logs.requests, { bindServiceLines: config.logRequestContext }));
  app.use(httpMetricsMiddleware);
  // webhooks keep their exact bytes: signatures are verified on the raw body before any parsing
  app.use('/webhooks', raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT_BYTES }));
  app.useBodyParser('json', { limit: '256kb' });
  app.use(refuseDeepJson);
  app.useBodyParser('urlencoded', { extended: false, limit: '64kb' });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
  app.disable('x-powered-by');
  app.use(helmet());
  // DOCS_ENABLED: off by default in production
  if (config.docsEnabled) {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Subscription payment connector')
        .setDescription('Cleeng payment connector for Adyen, Cleverbridge, Smart Glocal and SmartPay')
        .setVersion('0.1.0')
        .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Api-Key' }, 'api-key')
        .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'customer-jwt')
        .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Operator-Key' }, 'operator-key')
        .build(),
    );
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  }
  // well-formed webhooks are stored without Express and Nest in the way (docs/decisions.md, "Webhook intake")
  const intake = app.get(WebhookIntake);
  installWebhookFastPath(app.getHttpServer(), {
    accepts: (source) => intake.accepts(source),
    answer: (source, headers, body) => intake.answer(source, headers, body),
    log: logs.requests,
  });
  await app.listen(config.port, '0.0.0.0');
  let closed = false;
  return {
    app,
    config,
    url: await app.getUrl().then((u) => u.replace('[::1]', 'localhost').replace('0.0.0.0', 'localhost')),
    close: async () => {
      if (closed) {
        return;
      }
      closed = true;
      await app.close();
      await embedded?.stop();
    },
  };
}

/** `{A: undefined}` must not hide a sandbox default when merged over it. */
function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
