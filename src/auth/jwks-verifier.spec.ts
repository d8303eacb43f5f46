import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, JWK, KeyLike, SignJWT } from 'jose';
import { InvalidTokenError, JwksVerifier, JwksVerifierOptions } from './jwks-verifier';

type Mode = 'ok' | 'error' | 'hang';

/** A real JWKS over HTTP that counts how often it is fetched. */
class JwksServer {
  fetches = 0;
  mode: Mode = 'ok';
  keys: JWK[] = [];
  private readonly server: Server;
  private readonly hanging: ServerResponse[] = [];

  constructor() {
    this.server = createServer((_req: IncomingMessage, res: ServerResponse) => {
      this.fetches += 1;
      if (this.mode === 'hang') {
        this.hanging.push(res);
        return;
      }
      if (this.mode === 'error') {
        res.writeHead(503).end();
        return;
      }
      // a slow answer, so concurrent verifications really overlap one fetch
      setTimeout(
        () =>
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys })),
        30,
      );
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((ok) => this.server.listen(0, '127.0.0.1', ok));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks.json`;
  }

  async stop(): Promise<void> {
    this.hanging.forEach((res) => res.destroy());
    this.server.closeAllConnections();
    await new Promise((ok) => this.server.close(ok));
  }
}

interface SigningKey {
  kid: string;
  privateKey: KeyLike;
  jwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

async function token(
  key: SigningKey,
  claims: Record<string, unknown> = { customerId: '42' },
  setup: (jwt: SignJWT) => SignJWT = (jwt) => jwt,
): Promise<string> {
  return setup(
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid }).setExpirationTime('5m'),
  ).sign(key.privateKey);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('JwksVerifier (jose, against a local JWKS server)', () => {
  let server: JwksServer;
  let url: string;
  let keyA: SigningKey;
  let keyB: SigningKey;

  const verifier = (overrides: Partial<JwksVerifierOptions> = {}): JwksVerifier =>
    new JwksVerifier({
      jwksUrl: url,
      cooldownMs: 60_000,
      cacheMaxAgeMs: 60_000,
      failureBackoffMs: 60_000,
      timeoutMs: 2_000,
      ...overrides,
    });

  beforeAll(async () => {
    [keyA, keyB] = await Promise.all([signingKey('key-a'), signingKey('key-b')]);
  });

  beforeEach(async () => {
    server = new JwksServer();
    server.keys = [keyA.jwk];
    url = await server.start();
  });

  afterEach(async () => {
    await server.stop();
  });

  it('returns the customerId of a valid token and caches the key set', async () => {
    const v = verifier();
    await expect(v.verifyCustomerToken(await token(keyA))).resolves.toBe('42');
    await expect(v.verifyCustomerToken(await token(keyA, { customerId: 7 }))).resolves.toBe('7');
    expect(server.fetches).toBe(1);
  });

  it('rejects a bad signature, an expired token, a missing customerId and a non-RS256 token', async () => {
    const v = verifier();
    const forged = await token({ ...keyB, kid: 'key-a' });
    await expect(v.verifyCustomerToken(forged)).rejects.toThrow('bad token signature');
    const expired = await token(keyA, { customerId: '1' }, (jwt) =>
      jwt.setExpirationTime(Math.floor(Date.now() / 1000) - 120),
    );
    await expect(v.verifyCustomerToken(expired)).rejects.toThrow('token expired');
    await expect(v.verifyCustomerToken(await token(keyA, {}))).rejects.toThrow('token has no customerId');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"customerId":"1"}').toString('base64url')}.`;
    await expect(v.verifyCustomerToken(none)).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(v.verifyCustomerToken('not-a-jwt')).rejects.toThrow('malformed token');
  });

  it('checks issuer and audience when configured, and only then', async () => {
    const strict = verifier({ issuer: 'https://auth.example', audience: 'connector' });
    const right = await token(keyA, { customerId: '5' }, (jwt) =>
      jwt.setIssuer('https://auth.example').setAudience('connector'),
    );
    const wrongIssuer = await token(keyA, { customerId: '5' }, (jwt) =>
      jwt.setIssuer('https://evil.example').setAudience('connector'),
    );
    const noAudience = await token(keyA, { customerId: '5' }, (jwt) => jwt.setIssuer('https://auth.example'));
    await expect(strict.verifyCustomerToken(right)).resolves.toBe('5');
    await expect(strict.verifyCustomerToken(wrongIssuer)).rejects.toThrow(/claim iss rejected/);
    await expect(strict.verifyCustomerToken(noAudience)).rejects.toThrow(/claim aud rejected/);
    await expect(verifier().verifyCustomerToken(wrongIssuer)).resolves.toBe('5');
  });

  it('refetches for an unknown kid at most once per cooldown', async () => {
    const v = verifier({ cooldownMs: 300 });
    await v.verifyCustomerToken(await token(keyA));
    expect(server.fetches).toBe(1);
    // right after a fetch: an unknown kid is refused without asking again
    await expect(v.verifyCustomerToken(await token(keyB))).rejects.toThrow('unknown signing key');
    await expect(v.verifyCustomerToken(await token(keyB))).rejects.toThrow('unknown signing key');
    expect(server.fetches).toBe(1);
    await sleep(350);
    server.keys = [keyA.jwk, keyB.jwk]; // key rotation
    await expect(v.verifyCustomerToken(await token(keyB))).resolves.toBe('42');
    expect(server.fetches).toBe(2);
    // a kid that is still unknown right after the rotation fetch does not fetch again
    await expect(v.verifyCustomerToken(await token({ ...keyB, kid: 'key-c' }))).rejects.toThrow(
      'unknown signing key',
    );
    expect(server.fetches).toBe(2);
  });

  it('coalesces concurrent fetches into one', async () => {
    const v = verifier();
    const jwt = await token(keyA);
    const results = await Promise.all(Array.from({ length: 20 }, () => v.verifyCustomerToken(jwt)));
    expect(results).toEqual(Array(20).fill('42'));
    expect(server.fetches).toBe(1);
  });

  it('after a failed fetch, fails fast instead of making every request wait on the JWKS', async () => {
    server.mode = 'hang';
    const v = verifier({ timeoutMs: 300, failureBackoffMs: 400 });
    const jwt = await token(keyA);
    await expect(v.verifyCustomerToken(jwt)).rejects.toThrow('signing keys unavailable');
    expect(server.fetches).toBe(1);
    const started = Date.now();
    for (let i = 0; i < 5; i += 1) {
      await expect(v.verifyCustomerToken(jwt)).rejects.toThrow('signing keys unavailable');
    }
    expect(Date.now() - started).toBeLessThan(200);
    expect(server.fetches).toBe(1);
    server.mode = 'ok';
    await sleep(450);
    await expect(v.verifyCustomerToken(jwt)).resolves.toBe('42');
    expect(server.fetches).toBe(2);
  });

  it('keeps serving known keys from a fresh cache while the JWKS is failing', async () => {
    const v = verifier({ cooldownMs: 0 });
    await v.verifyCustomerToken(await token(keyA));
    server.mode = 'error';
    await expect(v.verifyCustomerToken(await token(keyB))).rejects.toThrow('signing keys unavailable');
    expect(server.fetches).toBe(2);
    await expect(v.verifyCustomerToken(await token(keyA))).resolves.toBe('42');
    await expect(v.verifyCustomerToken(await token(keyB))).rejects.toThrow('unknown signing key');
    expect(server.fetches).toBe(2);
  });

  it('expires stale keys: past cacheMaxAge they are refetched, and not trusted if the refetch fails', async () => {
    const v = verifier({ cacheMaxAgeMs: 200, failureBackoffMs: 0 });
    const jwt = await token(keyA);
    await v.verifyCustomerToken(jwt);
    await sleep(250);
    await expect(v.verifyCustomerToken(jwt)).resolves.toBe('42');
    expect(server.fetches).toBe(2);
    await sleep(250);
    server.mode = 'error';
    await expect(v.verifyCustomerToken(jwt)).rejects.toThrow('signing keys unavailable');
    expect(server.fetches).toBe(3);
  });
});
