import type { NextFunction, Request, Response } from 'express';
import { httpRequestDuration } from './process-metrics';

/**
 * Times every request and labels it with the matched route pattern (`/v1/payments/:id`), never the raw
 * URL, so label cardinality stays bounded; requests no route matched are `unmatched`.
 */
export function httpMetricsMiddleware(req: Request, res: Response, next: NextFunction): void {
  const stop = httpRequestDuration.startTimer();
  res.once('finish', () => {
    const route = (req.route as { path?: unknown } | undefined)?.path;
    stop({
      method: req.method,
      route: typeof route === 'string' ? `${req.baseUrl}${route}` : 'unmatched',
      status: String(res.statusCode),
    });
  });
  next();
}
