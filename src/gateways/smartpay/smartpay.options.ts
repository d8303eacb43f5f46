import { IsString, IsUrl, MinLength } from 'class-validator';
import { urlOpts } from '../../config/env.schema';

/** SMARTPAY_* variables (DESIGN §8). Required outside the sandbox; property names are the variable names. */
export class SmartPayEnv {
  @IsUrl(urlOpts, {
    message:
      'SMARTPAY_API_URL must be an http(s) URL, the Subscription Module API base (plans, subscriptions, ...)',
  })
  SMARTPAY_API_URL!: string;

  @IsString({ message: 'SMARTPAY_MERCHANT_KEY is required' })
  @MinLength(1, { message: 'SMARTPAY_MERCHANT_KEY is required' })
  SMARTPAY_MERCHANT_KEY!: string;

  @IsString({ message: 'SMARTPAY_AUTH_KEY is required' })
  @MinLength(1, { message: 'SMARTPAY_AUTH_KEY is required' })
  SMARTPAY_AUTH_KEY!: string;

  @IsString({ message: 'SMARTPAY_NOTIFY_USERNAME is required' })
  @MinLength(1, { message: 'SMARTPAY_NOTIFY_USERNAME is required' })
  SMARTPAY_NOTIFY_USERNAME!: string;

  @IsString({ message: 'SMARTPAY_NOTIFY_PASSWORD is required' })
  @MinLength(1, { message: 'SMARTPAY_NOTIFY_PASSWORD is required' })
  SMARTPAY_NOTIFY_PASSWORD!: string;

  @IsUrl(urlOpts, {
    message: 'SMARTPAY_WIDGET_URL must be an http(s) URL (the Subscription Widget the front-end loads)',
  })
  SMARTPAY_WIDGET_URL!: string;
}

export interface SmartPayOptions {
  apiUrl: string;
  merchantKey: string;
  authKey: string;
  notifyUsername: string;
  notifyPassword: string;
  widgetUrl: string;
}

export const SMARTPAY_OPTIONS = Symbol('SMARTPAY_OPTIONS');

export function smartPayOptions(env: SmartPayEnv): SmartPayOptions {
  return {
    apiUrl: env.SMARTPAY_API_URL.replace(/\/$/, ''),
    merchantKey: env.SMARTPAY_MERCHANT_KEY,
    authKey: env.SMARTPAY_AUTH_KEY,
    notifyUsername: env.SMARTPAY_NOTIFY_USERNAME,
    notifyPassword: env.SMARTPAY_NOTIFY_PASSWORD,
    widgetUrl: env.SMARTPAY_WIDGET_URL,
  };
}
