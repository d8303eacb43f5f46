import type { Params } from 'nestjs-pino';
import { destination as pinoDestination, pino, symbols, type DestinationStream, type Logger } from 'pino';
import type { AppConfig } from './config/app-config';

/**
 * Request logs carry method, route, status and timing only. Headers that authenticate are
 * redacted; bodies (card data, tokens) are never logged.
 */
export function loggerOptions(
  config: Pick<AppConfig, 'logLevel' | 'env'>,
  destination?: DestinationStream,
  /** each gateway's own secrets on the wire (its definition's redactPaths) */
  extraRedactPaths: readonly string[] = [],
): Params {
  const options: NonNullable<Params['pinoHttp']> = {
    level: config.logLevel,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-api-key"]',
        'req.headers["x-operator-key"]',
        'req.headers["x-publisher-token"]',
        'req.headers.cookie',
        'req.headers["x-cleeng-signature"]',
        '*.token',
        '*.number',
        '*.cvc',
        '*.encryptedCardNumber',
        '*.encryptedSecurityCode',
        '*.recurringToken',
        ...extraRedactPaths,
      ],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: { method?: string; url?: string; id?: unknown }) => ({
        id: req.id,
        method: req.method,
        // query strings can carry redirect results: log the path only
        url: typeof req.url === 'string' ? req.url.split('?')[0] : req.url,
      }),
      // response headers can carry redirect URLs with single-use results: status only
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
    autoLogging: { ignore: (req) => req.url === '/health' },
  };
  // stdout written asynchronously: a line is handed to the kernel at once unless a write is in flight, then the lines
  // waiting go in one write (fewer syscalls under load: issue 11); pino flushes what is left when the process exits
  return { pinoHttp: [options, destination ?? pinoDestination({ dest: 1, sync: false })] };
}

/**
 * A logger for the request lines of the bare webhook path (src/webhooks/webhook-fast-path.ts), writing to the request
 * logger's own destination at its level. It has no redaction pass: those lines are built from the method, the path
 * without its query, the status and the time, and nothing else can reach them; the redaction paths' wildcards cost
 * about 5 % of the intake's CPU (issue 11).
 */
export function requestLineLogger(requestLogger: Logger): Pick<Logger, 'info'> {
  const destination = (requestLogger as unknown as Record<symbol, DestinationStream>)[symbols.streamSym];
  return pino({ level: requestLogger.level }, destination);
}
