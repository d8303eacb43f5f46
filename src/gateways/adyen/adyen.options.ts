import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, IsUrl, Matches, MinLength } from 'class-validator';
import { toBool, urlOpts } from '../../config/env.schema';

/** ADYEN_* variables (DESIGN §8). Required outside the sandbox; property names are the variable names. */
export class AdyenEnv {
  @IsUrl(urlOpts, {
    message:
      'ADYEN_API_URL must be an http(s) URL with the version, e.g. https://checkout-test.adyen.com/v71',
  })
  ADYEN_API_URL!: string;

  @IsString({ message: 'ADYEN_API_KEY is required' })
  @MinLength(1, { message: 'ADYEN_API_KEY is required' })
  ADYEN_API_KEY!: string;

  @IsString({ message: 'ADYEN_MERCHANT_ACCOUNT is required' })
  @MinLength(1, { message: 'ADYEN_MERCHANT_ACCOUNT is required' })
  ADYEN_MERCHANT_ACCOUNT!: string;

  @Matches(/^([0-9a-fA-F]{2})+$/, { message: 'ADYEN_HMAC_KEY must be hex (required)' })
  ADYEN_HMAC_KEY!: string;

  /** the key being replaced during an HMAC key rotation: notifications signed with either are accepted */
  @IsOptional()
  @Matches(/^([0-9a-fA-F]{2})+$/, { message: 'ADYEN_HMAC_KEY_PREVIOUS must be hex' })
  ADYEN_HMAC_KEY_PREVIOUS?: string;

  @Transform(toBool)
  @IsBoolean()
  ADYEN_ZERO_AUTH = true;
}

export interface AdyenOptions {
  apiUrl: string;
  apiKey: string;
  merchantAccount: string;
  /** current key first; the previous one only while a rotation is under way */
  hmacKeys: string[];
  /** zero-value auth for free trials; false -> tokenise with /storedPaymentMethods */
  zeroAuth: boolean;
}

export const ADYEN_OPTIONS = Symbol('ADYEN_OPTIONS');

export function adyenOptions(env: AdyenEnv): AdyenOptions {
  return {
    apiUrl: env.ADYEN_API_URL.replace(/\/$/, ''),
    apiKey: env.ADYEN_API_KEY,
    merchantAccount: env.ADYEN_MERCHANT_ACCOUNT,
    hmacKeys: [env.ADYEN_HMAC_KEY, ...(env.ADYEN_HMAC_KEY_PREVIOUS ? [env.ADYEN_HMAC_KEY_PREVIOUS] : [])],
    zeroAuth: env.ADYEN_ZERO_AUTH,
  };
}
