import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { startApp } from './bootstrap';
import { ConfigError } from './config/config.factory';

async function main(): Promise<void> {
  const running = await startApp();
  const logger = new Logger('Main');
  logger.log(
    `listening on ${running.config.publicUrl}${running.config.sandbox ? ' (sandbox: emulators under /sandbox)' : ''}; docs at /docs`,
  );
  const stop = (signal: string): void => {
    logger.log(`${signal}: shutting down`);
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error(`shutdown failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
  } else {
    console.error(err);
  }
  process.exit(1);
});
