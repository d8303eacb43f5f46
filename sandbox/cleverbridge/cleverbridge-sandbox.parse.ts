import { InvalidMoneyError, Money } from '../shared/money';

/**
 * Hand validation of a ProcessCart body into what the emulator works with. Element names are matched
 * case-insensitively (Cleverbridge's .NET API accepts `Cart` and `cart` alike; the connector sends
 * camelCase); unknown elements are refused, so a misspelt field in our mapper fails loudly here.
 */

export type CustomerIdentifier =
  | { kind: 'logonPurchaseId'; value: string }
  | { kind: 'customerReferenceId'; value: string }
  | { kind: 'subscriptionId'; value: string };

export interface ParsedItem {
  productId: string;
  quantity: number;
  additionalName?: string;
  dynamicProductName?: string;
  dynamicPrice?: Money;
  extraParameters: Record<string, string>;
}

export type ProcessCartMode = 'Interactive' | 'NonInteractive';
export type ExtraParameterMode = 'Default' | 'PurchaseOnly' | 'SubscriptionOnly';

export interface ParsedProcessCart {
  customer: CustomerIdentifier;
  items: ParsedItem[];
  /** cart-level x-parameters */
  extraParameters: Record<string, string>;
  extraParameterMode: ExtraParameterMode;
  processCartMode: ProcessCartMode;
  defaultCountryId?: string;
  defaultLanguageId?: string;
}

export type ParseResult =
  { ok: true; cart: ParsedProcessCart } | { ok: false; code: string; message: string };

class InvalidElement extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Looks a property up case-insensitively; refuses properties outside `allowed`. */
function fields(value: unknown, path: string, allowed: readonly string[]): (name: string) => unknown {
  if (!isObj(value)) {
    throw new InvalidElement('INVALID_ELEMENT', `${path} must be an object`);
  }
  const byLower = new Map<string, unknown>();
  const allowedLower = new Set(allowed.map((a) => a.toLowerCase()));
  for (const [key, item] of Object.entries(value)) {
    const lower = key.toLowerCase();
    if (!allowedLower.has(lower)) {
      throw new InvalidElement('INVALID_ELEMENT', `unknown element ${path}.${key}`);
    }
    byLower.set(lower, item);
  }
  return (name) => byLower.get(name.toLowerCase());
}

function optionalString(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value === 'number' && Number.isSafeInteger(value)) {
    return String(value);
  }
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidElement('INVALID_ELEMENT', `${path} must be a non-empty string`);
  }
  return value.trim();
}

/** `{extraParameter: [{key, value}]}`, `{extraParameter: {key, value}}` or `[{key, value}]`. */
function extraParameters(value: unknown, path: string): Record<string, string> {
  if (value === undefined || value === null) {
    return {};
  }
  let list: unknown = value;
  if (isObj(value)) {
    list = fields(value, path, ['extraParameter'])('extraParameter');
    if (isObj(list)) {
      list = [list];
    }
  }
  if (!Array.isArray(list)) {
    throw new InvalidElement('INVALID_ELEMENT', `${path}.extraParameter must be a list of {key, value}`);
  }
  const out: Record<string, string> = {};
  list.forEach((entry: unknown, i) => {
    const get = fields(entry, `${path}.extraParameter[${i}]`, ['key', 'value']);
    const key = get('key');
    const item = get('value');
    if (typeof key !== 'string' || typeof item !== 'string') {
      throw new InvalidElement('INVALID_ELEMENT', `${path}.extraParameter[${i}] needs string key and value`);
    }
    if (!key.startsWith('x-') || key.length < 3) {
      throw new InvalidElement('INVALID_X_PARAMETER', `x-parameter key "${key}" must begin with "x-"`);
    }
    out[key] = item;
  });
  return out;
}

function enumOf<T extends string>(value: unknown, path: string, names: readonly T[], fallback: T): T {
  if (value === undefined || value === null) {
    return fallback;
  }
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value < names.length) {
    return names[value] ?? fallback;
  }
  if (typeof value === 'string') {
    const wanted = value.replace(/[-_\s]/g, '').toLowerCase();
    const found = names.find((n) => n.toLowerCase() === wanted);
    if (found) {
      return found;
    }
    if (/^\d+$/.test(value)) {
      const index = Number(value);
      const byIndex = names[index];
      if (byIndex) {
        return byIndex;
      }
    }
  }
  throw new InvalidElement(
    'INVALID_ELEMENT',
    `${path} must be one of ${names.map((n, i) => `${n} (${i})`).join(', ')}`,
  );
}

function item(value: unknown, path: string): ParsedItem {
  const get = fields(value, path, [
    'productId',
    'quantity',
    'additionalName',
    'dynamicProductName',
    'dynamicPrice',
    'extraParameters',
  ]);
  const productId = optionalString(get('productId'), `${path}.productId`);
  if (productId === undefined) {
    throw new InvalidElement('INVALID_ELEMENT', `${path}.productId is required`);
  }
  const quantity = get('quantity') ?? 1;
  if (typeof quantity !== 'number' || !Number.isSafeInteger(quantity) || quantity < 1) {
    throw new InvalidElement('INVALID_ELEMENT', `${path}.quantity must be a positive integer`);
  }
  const additionalName = optionalString(get('additionalName'), `${path}.additionalName`);
  const dynamicProductName = optionalString(get('dynamicProductName'), `${path}.dynamicProductName`);
  let dynamicPrice: Money | undefined;
  const price = get('dynamicPrice');
  if (price !== undefined && price !== null) {
    const priceOf = fields(price, `${path}.dynamicPrice`, ['amount', 'currencyId']);
    const amount = priceOf('amount');
    const currency = priceOf('currencyId');
    if ((typeof amount !== 'number' && typeof amount !== 'string') || typeof currency !== 'string') {
      throw new InvalidElement('INVALID_ELEMENT', `${path}.dynamicPrice needs amount and currencyId`);
    }
    try {
      dynamicPrice = Money.fromMajor(amount, currency);
    } catch (err) {
      if (err instanceof InvalidMoneyError) {
        throw new InvalidElement('INVALID_PRICE', `${path}.dynamicPrice: ${err.message}`);
      }
      throw err;
    }
  }
  return {
    productId,
    quantity,
    ...(additionalName !== undefined ? { additionalName } : {}),
    ...(dynamicProductName !== undefined ? { dynamicProductName } : {}),
    ...(dynamicPrice ? { dynamicPrice } : {}),
    extraParameters: extraParameters(get('extraParameters'), `${path}.extraParameters`),
  };
}

function parse(body: unknown): ParsedProcessCart {
  const root = fields(body, 'body', ['processCartRequest'])('processCartRequest');
  const get = fields(root, 'processCartRequest', [
    'cart',
    'defaultCountryId',
    'defaultLanguageId',
    'extraParameters',
    'extraParameterMode',
    'processCartMode',
    'fraudProtectionMode',
    'subscription',
  ]);
  const cart = fields(get('cart'), 'processCartRequest.cart', [
    'items',
    'logonPurchaseId',
    'customerReferenceId',
  ]);
  const rawItems = cart('items');
  if (!Array.isArray(rawItems) || rawItems.length === 0) {
    throw new InvalidElement('INVALID_ELEMENT', 'processCartRequest.cart.items must list at least one item');
  }
  const items = rawItems.map((entry: unknown, i) => item(entry, `processCartRequest.cart.items[${i}]`));

  const subscription = get('subscription');
  const subscriptionId =
    subscription === undefined || subscription === null
      ? undefined
      : optionalString(
          fields(subscription, 'processCartRequest.subscription', ['subscriptionId'])('subscriptionId'),
          'processCartRequest.subscription.subscriptionId',
        );
  const ids: CustomerIdentifier[] = [];
  const logon = optionalString(cart('logonPurchaseId'), 'processCartRequest.cart.logonPurchaseId');
  const reference = optionalString(
    cart('customerReferenceId'),
    'processCartRequest.cart.customerReferenceId',
  );
  if (logon !== undefined) {
    ids.push({ kind: 'logonPurchaseId', value: logon });
  }
  if (reference !== undefined) {
    ids.push({ kind: 'customerReferenceId', value: reference });
  }
  if (subscriptionId !== undefined) {
    ids.push({ kind: 'subscriptionId', value: subscriptionId });
  }
  const [customer, ...more] = ids;
  if (!customer || more.length > 0) {
    throw new InvalidElement(
      'CUSTOMER_IDENTIFIER',
      'exactly one customer identifier is required: cart.logonPurchaseId, cart.customerReferenceId or subscription.subscriptionId',
    );
  }

  const country = optionalString(get('defaultCountryId'), 'processCartRequest.defaultCountryId');
  if (country !== undefined && !/^[A-Za-z]{2}$/.test(country)) {
    throw new InvalidElement(
      'INVALID_ELEMENT',
      'processCartRequest.defaultCountryId must be a 2-letter country id',
    );
  }
  const language = optionalString(get('defaultLanguageId'), 'processCartRequest.defaultLanguageId');
  if (language !== undefined && !/^[A-Za-z]{2}$/.test(language)) {
    throw new InvalidElement(
      'INVALID_ELEMENT',
      'processCartRequest.defaultLanguageId must be a 2-letter language id',
    );
  }
  // The seed lists what a rebilling call contains: subscription id, default language id, product id, quantity.
  if (customer.kind === 'subscriptionId' && language === undefined) {
    throw new InvalidElement(
      'INVALID_ELEMENT',
      'processCartRequest.defaultLanguageId is required when rebilling a subscription',
    );
  }
  // FraudProtectionMode (0 Disabled / 1 Enabled) is accepted and has no effect in the sandbox.
  enumOf(
    get('fraudProtectionMode'),
    'processCartRequest.fraudProtectionMode',
    ['Disabled', 'Enabled'],
    'Enabled',
  );

  return {
    customer,
    items,
    extraParameters: extraParameters(get('extraParameters'), 'processCartRequest.extraParameters'),
    extraParameterMode: enumOf<ExtraParameterMode>(
      get('extraParameterMode'),
      'processCartRequest.extraParameterMode',
      ['Default', 'PurchaseOnly', 'SubscriptionOnly'],
      'Default',
    ),
    processCartMode: enumOf<ProcessCartMode>(
      get('processCartMode'),
      'processCartRequest.processCartMode',
      ['Interactive', 'NonInteractive'],
      'Interactive',
    ),
    ...(country !== undefined ? { defaultCountryId: country.toUpperCase() } : {}),
    ...(language !== undefined ? { defaultLanguageId: language.toLowerCase() } : {}),
  };
}

/** The body of `POST /cart/processcart` -> a parsed cart, or the InvalidRequest error code and message. */
export function parseProcessCart(body: unknown): ParseResult {
  try {
    return { ok: true, cart: parse(body) };
  } catch (err) {
    if (err instanceof InvalidElement) {
      return { ok: false, code: err.code, message: err.message };
    }
    throw err;
  }
}
