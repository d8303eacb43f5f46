import { IsString, IsUrl, Matches, MinLength } from 'class-validator';
import { urlOpts } from '../../config/env.schema';

/** CLEVERBRIDGE_* variables (DESIGN §8). Required outside the sandbox; property names are the variable names. */
export class CleverbridgeEnv {
  @IsUrl(urlOpts, {
    message: 'CLEVERBRIDGE_API_URL must be an http(s) origin, e.g. https://rest.cleverbridge.com',
  })
  CLEVERBRIDGE_API_URL!: string;

  @IsString({ message: 'CLEVERBRIDGE_USERNAME is required' })
  @MinLength(1, { message: 'CLEVERBRIDGE_USERNAME is required' })
  CLEVERBRIDGE_USERNAME!: string;

  @IsString({ message: 'CLEVERBRIDGE_PASSWORD is required' })
  @MinLength(1, { message: 'CLEVERBRIDGE_PASSWORD is required' })
  CLEVERBRIDGE_PASSWORD!: string;

  @IsString({ message: 'CLEVERBRIDGE_NOTIFY_USERNAME is required' })
  @MinLength(1, { message: 'CLEVERBRIDGE_NOTIFY_USERNAME is required' })
  CLEVERBRIDGE_NOTIFY_USERNAME!: string;

  @IsString({ message: 'CLEVERBRIDGE_NOTIFY_PASSWORD is required' })
  @MinLength(1, { message: 'CLEVERBRIDGE_NOTIFY_PASSWORD is required' })
  CLEVERBRIDGE_NOTIFY_PASSWORD!: string;

  /**
   * The language a rebill's ProcessCart names (`defaultLanguageId`, one of the four things the seed says a
   * rebilling call contains) when the subscription does not name its own.
   */
  @Matches(/^[a-z]{2}$/, {
    message: 'CLEVERBRIDGE_DEFAULT_LANGUAGE_ID must be an ISO 639-1 code in lower case, e.g. en',
  })
  CLEVERBRIDGE_DEFAULT_LANGUAGE_ID = 'en';
}

export interface CleverbridgeOptions {
  apiUrl: string;
  username: string;
  password: string;
  notifyUsername: string;
  notifyPassword: string;
  /** rebills of subscriptions without their own language */
  defaultLanguageId: string;
}

export const CLEVERBRIDGE_OPTIONS = Symbol('CLEVERBRIDGE_OPTIONS');

export function cleverbridgeOptions(env: CleverbridgeEnv): CleverbridgeOptions {
  return {
    apiUrl: env.CLEVERBRIDGE_API_URL.replace(/\/$/, ''),
    username: env.CLEVERBRIDGE_USERNAME,
    password: env.CLEVERBRIDGE_PASSWORD,
    notifyUsername: env.CLEVERBRIDGE_NOTIFY_USERNAME,
    notifyPassword: env.CLEVERBRIDGE_NOTIFY_PASSWORD,
    defaultLanguageId: env.CLEVERBRIDGE_DEFAULT_LANGUAGE_ID,
  };
}
