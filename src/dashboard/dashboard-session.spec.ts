import { SessionSigner, parseCookies } from './dashboard-session';

describe('SessionSigner', () => {
  const key = Buffer.alloc(32, 3);
  const signer = new SessionSigner(key, 'operator-key');
  const now = 1_800_000_000_000;

  it('accepts its own cookie and refuses a forged, expired or foreign one', () => {
    const { session, cookie } = signer.issue('alice', now);
    expect(signer.verify(cookie, now + 1000)).toEqual(session);
    expect(signer.verify(cookie, session.expiresAt)).toBeUndefined();
    const [payload] = cookie.split('.');
    const forged = Buffer.from(JSON.stringify({ ...session, operator: 'mallory' })).toString('base64url');
    expect(signer.verify(`${forged}.${cookie.split('.')[1]}`, now)).toBeUndefined();
    expect(signer.verify(`${payload}.x`, now)).toBeUndefined();
    expect(new SessionSigner(key, 'rotated-operator-key').verify(cookie, now)).toBeUndefined();
  });

  it('binds the CSRF token to the session', () => {
    const a = signer.issue('alice', now).session;
    const b = signer.issue('alice', now).session;
    expect(signer.csrfValid(a, signer.csrfToken(a))).toBe(true);
    expect(signer.csrfValid(a, signer.csrfToken(b))).toBe(false);
    expect(signer.csrfValid(a, undefined)).toBe(false);
  });

  it('parses cookie headers', () => {
    expect(parseCookies('a=1; dashboard_session=x.y; bad=%E0')).toEqual({ a: '1', dashboard_session: 'x.y' });
  });
});
