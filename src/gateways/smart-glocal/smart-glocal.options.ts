import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import { IsString, IsUrl, MinLength, Validate, ValidatorConstraint } from 'class-validator';
import type { ValidatorConstraintInterface } from 'class-validator';
import { urlOpts } from '../../config/env.schema';

/** PEM from an env variable: real newlines, or `\n` escapes (one-line .env files). */
export function pemFromEnv(value: string): string {
  return value.includes('\\n') ? value.replace(/\\n/g, '\n') : value;
}

@ValidatorConstraint({ name: 'rsaPrivateKeyPem' })
class RsaPrivateKeyPem implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value !== 'string') {
      return false;
    }
    try {
      return createPrivateKey(pemFromEnv(value)).asymmetricKeyType === 'rsa';
    } catch {
      return false;
    }
  }
  defaultMessage(): string {
    return 'SMART_GLOCAL_PRIVATE_KEY must be an RSA private key in PEM (PKCS#8 or PKCS#1; `\\n` escapes allowed)';
  }
}

@ValidatorConstraint({ name: 'rsaPublicKeyPem' })
class RsaPublicKeyPem implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value !== 'string') {
      return false;
    }
    try {
      return createPublicKey(pemFromEnv(value)).asymmetricKeyType === 'rsa';
    } catch {
      return false;
    }
  }
  defaultMessage(): string {
    return 'SMART_GLOCAL_PUBLIC_KEY must be an RSA public key in PEM (SPKI; `\\n` escapes allowed)';
  }
}

/** SMART_GLOCAL_* variables (DESIGN §8). Required outside the sandbox; property names are the variable names. */
export class SmartGlocalEnv {
  @IsUrl(urlOpts, {
    message:
      'SMART_GLOCAL_API_URL must be an http(s) origin, e.g. https://demo.smart-glocal.com (paths add /api/v1/...)',
  })
  SMART_GLOCAL_API_URL!: string;

  @IsString({ message: 'SMART_GLOCAL_PROJECT is required' })
  @MinLength(1, { message: 'SMART_GLOCAL_PROJECT is required' })
  SMART_GLOCAL_PROJECT!: string;

  /** ours: signs every request (`X-PARTNER-SIGN`) */
  @Validate(RsaPrivateKeyPem)
  SMART_GLOCAL_PRIVATE_KEY!: string;

  /** Smart Glocal's: verifies every webhook */
  @Validate(RsaPublicKeyPem)
  SMART_GLOCAL_PUBLIC_KEY!: string;
}

export interface SmartGlocalOptions {
  apiUrl: string;
  project: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export const SMART_GLOCAL_OPTIONS = Symbol('SMART_GLOCAL_OPTIONS');

export function smartGlocalOptions(env: SmartGlocalEnv): SmartGlocalOptions {
  return {
    apiUrl: env.SMART_GLOCAL_API_URL.replace(/\/$/, ''),
    project: env.SMART_GLOCAL_PROJECT,
    privateKey: createPrivateKey(pemFromEnv(env.SMART_GLOCAL_PRIVATE_KEY)),
    publicKey: createPublicKey(pemFromEnv(env.SMART_GLOCAL_PUBLIC_KEY)),
  };
}
