import { API_KEY, startTestApp, TestApp } from './support/test-app';

/**
 * Inputs `npm run test:fuzz` found answered with a 5xx (issue 8, Proof): each must be a 4xx with a message.
 */
const OPERATOR_KEY = 'sandbox-operator';

const nestedArrays = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

describe('fuzz regressions', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });

  afterAll(async () => {
    await app.close();
  });

  it.each([
    ['/ops/outbox/replay', { 'X-Operator-Key': OPERATOR_KEY }, `{"all":${nestedArrays(2000)}}`],
    ['/v1/orders', { 'X-Api-Key': API_KEY }, `{"customerId":${nestedArrays(2000)}}`],
    [
      '/v1/payments',
      { 'X-Api-Key': API_KEY, 'Idempotency-Key': 'k1' },
      `{"paymentMethod":${nestedArrays(5000)}}`,
    ],
  ])('answers a deeply nested JSON body to POST %s with 400', async (path, headers, body) => {
    const res = await app.http.post(path).set(headers).set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, code: 'MALFORMED_REQUEST' });
    expect(String(res.body.message)).toMatch(/nest/i);
  });
});
