import { createServer, request, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { latencyStart, latencyStop, timeServerRequests } from './server-latency';

function get(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ port, host: '127.0.0.1', path: '/' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    })
      .on('error', reject)
      .end();
  });
}

describe('the app probe: requests as the server saw them', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    timeServerRequests();
    // every answer written 30 ms after its request was read
    server = createServer((_req, res) => {
      setTimeout(() => res.end('ok'), 30);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('times only the requests answered while recording, from reading to answering', async () => {
    expect(latencyStop()).toBeUndefined();
    await get(port); // not recorded
    latencyStart();
    await Promise.all([get(port), get(port), get(port)]);
    const seen = latencyStop();

    expect(seen?.requests).toBe(3);
    expect(seen?.p50Ms).toBeGreaterThanOrEqual(29);
    expect(seen?.maxMs).toBeLessThan(1_000);
    expect(seen?.loopDelayMaxMs).toBeGreaterThan(0);
    expect(seen?.gcPauses).toBeGreaterThanOrEqual(0);
    await get(port); // after the stop: not recorded either
    expect(latencyStop()).toBeUndefined();
  });
});
