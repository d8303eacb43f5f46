import { createSign, createVerify, KeyObject } from 'node:crypto';

/**
 * `X-PARTNER-SIGN`, both ways. Smart Glocal's text stops before naming the hash, padding and encoding
 * (external-apis.md §4); DESIGN §10 fixes RSA PKCS#1 v1.5 with SHA-256 over the exact body bytes, Base64.
 * Kept in these two functions so a correction from Smart Glocal changes one place.
 */
export const SIGNATURE_HEADER = 'x-partner-sign';
export const PROJECT_HEADER = 'x-partner-project';

export function signBody(body: Buffer | string, privateKey: KeyObject): string {
  return createSign('RSA-SHA256').update(body).sign(privateKey, 'base64');
}

export function verifyBody(body: Buffer, signature: string, publicKey: KeyObject): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) {
    return false;
  }
  try {
    return createVerify('RSA-SHA256').update(body).verify(publicKey, signature, 'base64');
  } catch {
    return false;
  }
}
