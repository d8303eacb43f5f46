import { generateKeyPairSync } from 'node:crypto';

/** Made-up Smart Glocal keys (PKCS#8 / SPKI PEM), as a deployment provides them. */
const SMART_GLOCAL_TEST_KEYS = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

/**
 * Every variable the configuration requires outside the sandbox, with made-up values: what a deployment
 * must set. Config specs start from it so they test the config, not the sandbox's defaults.
 */
export const COMPLETE_ENV: Readonly<Record<string, string>> = {
  ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  API_KEYS: 'key-1',
  OPERATOR_KEY: 'operator-1',
  CUSTOMER_JWKS_URL: 'https://auth.example.test/.well-known/jwks.json',
  CLEENG_API_URL: 'https://api.cleeng.example.test/3.1',
  CLEENG_PUBLISHER_TOKEN: 'publisher-token',
  CLEENG_WEBHOOK_SECRET: 'cleeng-secret',
  CLEENG_PAYMENT_METHODS: 'adyen:101,cleverbridge:104',
  ADYEN_API_URL: 'https://checkout.adyen.example.test/v71',
  ADYEN_API_KEY: 'adyen-key',
  ADYEN_MERCHANT_ACCOUNT: 'MerchantECOM',
  ADYEN_HMAC_KEY: '44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056',
  CLEVERBRIDGE_API_URL: 'https://rest.cleverbridge.example.test',
  CLEVERBRIDGE_USERNAME: 'cb-user',
  CLEVERBRIDGE_PASSWORD: 'cb-password',
  CLEVERBRIDGE_NOTIFY_USERNAME: 'cb-notify',
  CLEVERBRIDGE_NOTIFY_PASSWORD: 'cb-notify-password',
  SMART_GLOCAL_API_URL: 'https://smart-glocal.example.test',
  SMART_GLOCAL_PROJECT: 'sg-project',
  SMART_GLOCAL_PRIVATE_KEY: SMART_GLOCAL_TEST_KEYS.privateKey,
  SMART_GLOCAL_PUBLIC_KEY: SMART_GLOCAL_TEST_KEYS.publicKey,
  SMARTPAY_API_URL: 'https://smartpay.example.test',
  SMARTPAY_MERCHANT_KEY: 'sp-merchant-key',
  SMARTPAY_AUTH_KEY: 'sp-auth-key',
  SMARTPAY_NOTIFY_USERNAME: 'sp-notify',
  SMARTPAY_NOTIFY_PASSWORD: 'sp-notify-password',
  SMARTPAY_WIDGET_URL: 'https://sdk.smartpay.example.test/smp-bundle.js',
};
