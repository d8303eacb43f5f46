import { request as httpRequest } from 'node:http';

export interface RawRequest {
  method: string;
  /** already encoded: the fuzzer decides what reaches the server byte for byte */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface RawResponse {
  status: number;
  text: string;
}

/**
 * Plain node:http, not supertest: the fuzzer sends paths, headers and bodies exactly as generated (invalid
 * percent-encodings, raw JSON with 1e309, bodies past the limit) without a client library tidying them up.
 */
export function send(baseUrl: string, req: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const outgoing = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        headers: { ...req.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    outgoing.on('error', (err: NodeJS.ErrnoException) => {
      // the server may answer 413/431 and close before the whole body is written
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') {
        resolve({ status: 0, text: err.code });
        return;
      }
      reject(err);
    });
    if (body) {
      outgoing.write(body);
    }
    outgoing.end();
  });
}

export async function getJson<T>(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<T> {
  const res = await send(baseUrl, { method: 'GET', path, headers });
  if (res.status !== 200) {
    throw new Error(`GET ${path}: ${res.status} ${res.text.slice(0, 200)}`);
  }
  return JSON.parse(res.text) as T;
}
