import type { Response } from 'express';
import type { EmulatorAnswer } from './bare-json-route';

/** A Nest route's (`@Res({ passthrough: true })`) side of an answer: status and headers set, the body returned. */
export function answerThrough<B>(res: Response, answer: EmulatorAnswer<B>): B {
  for (const [name, value] of Object.entries(answer.headers ?? {})) {
    res.setHeader(name, value);
  }
  res.status(answer.status);
  return answer.body;
}
