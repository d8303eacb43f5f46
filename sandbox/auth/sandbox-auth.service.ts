import { Injectable } from '@nestjs/common';
import { generateKeyPairSync, KeyObject, randomUUID, sign } from 'node:crypto';

/** RS256 key pair generated per process; tokens carry `customerId` like Cleeng MediaStore tokens. */
@Injectable()
export class SandboxAuthService {
  private readonly kid = randomUUID();
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;

  constructor() {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
  }

  jwks(): { keys: unknown[] } {
    return {
      keys: [{ ...this.publicKey.export({ format: 'jwk' }), kid: this.kid, alg: 'RS256', use: 'sig' }],
    };
  }

  mint(customerId: string, expiresInSeconds: number): { token: string; expiresAt: string } {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + expiresInSeconds;
    const header = b64({ alg: 'RS256', typ: 'JWT', kid: this.kid });
    const payload = b64({ customerId, publisherId: 'sandbox', iat: now, exp });
    const signature = sign('RSA-SHA256', Buffer.from(`${header}.${payload}`), this.privateKey).toString(
      'base64url',
    );
    return { token: `${header}.${payload}.${signature}`, expiresAt: new Date(exp * 1000).toISOString() };
  }
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
