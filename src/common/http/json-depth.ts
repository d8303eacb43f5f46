import type { NextFunction, Request, Response } from 'express';
import { DomainError } from '../errors/domain-error';

/**
 * Deepest nesting a JSON request body may have. Our DTOs nest three or four levels; class-transformer and
 * class-validator recurse per level, so a body of thousands of `[` overflowed the stack and answered 500.
 */
export const MAX_JSON_DEPTH = 32;

const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Deepest `{`/`[` nesting in JSON text, brackets inside strings not counted; one pass, no parsing. */
export function jsonNestingDepth(raw: Buffer): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i += 1) {
    const byte = raw[i];
    if (inString) {
      if (byte === BACKSLASH) {
        i += 1;
      } else if (byte === QUOTE) {
        inString = false;
      }
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      depth += 1;
      deepest = Math.max(deepest, depth);
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth -= 1;
    }
  }
  return deepest;
}

/**
 * Middleware after the JSON body parser: refuses a too-deep body (400 MALFORMED_REQUEST) before any pipe
 * transforms it. Reads the raw bytes Nest keeps (`rawBody: true`); Nest replaces a parser's own `verify` hook.
 */
export function refuseDeepJson(req: Request, _res: Response, next: NextFunction): void {
  const raw = (req as Request & { rawBody?: unknown }).rawBody;
  if (Buffer.isBuffer(raw) && req.is('json') && jsonNestingDepth(raw) > MAX_JSON_DEPTH) {
    next(new DomainError('MALFORMED_REQUEST', `request body nests deeper than ${MAX_JSON_DEPTH} levels`));
    return;
  }
  next();
}
