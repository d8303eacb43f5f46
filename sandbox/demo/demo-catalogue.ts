import { THREE_DS_TEST_CARD } from '../adyen/adyen-test-cards';
import { SANDBOX_OFFERS } from '../cleeng/cleeng-sandbox.offers';

/**
 * The gateways the demo can drive and how:
 *  - `card`: a Cleeng order paid with a test card (captured, rejected, or an action to render); Cleeng renews;
 *  - `cart`: a merchant-of-record first purchase (`POST /v1/purchases`, Cleverbridge's "Handled by Client"
 *    subscription), then a connector-managed subscription that the connector rebills and duns itself;
 *  - `widget`: a gateway-managed subscription: the payment carries no card, the gateway's widget stores one and
 *    the gateway bills every cycle (the connector reports each to Cleeng).
 * A gateway added later adds a line here; its action (a redirect or a widget) is rendered generically.
 */
export interface DemoGateway {
  id: string;
  label: string;
  flow: 'card' | 'cart' | 'widget';
  country: string;
  /** card flow: the `paymentMethod.type` of a card in the gateway's own words */
  cardType?: string;
  /**
   * card flow: the completion detail that names the gateway's payment, sent when the browser comes back from a
   * redirect with nothing in its query (Smart Glocal's 3-D Secure returns a bare `return_url`)
   */
  returnDetailKey?: string;
  /** cart flow: the gateway's product for the offer's plan */
  productId?: string;
}

export const DEMO_GATEWAYS: readonly DemoGateway[] = [
  {
    id: 'adyen',
    label: 'Adyen (cards, 3-D Secure; Cleeng renews)',
    flow: 'card',
    country: 'US',
    cardType: 'scheme',
  },
  {
    id: 'smart-glocal',
    label: 'Smart Glocal (cards, 3-D Secure redirect; asynchronous, settled by webhooks; Cleeng renews)',
    flow: 'card',
    country: 'US',
    cardType: 'card',
    returnDetailKey: 'sessionId',
  },
  {
    id: 'smartpay',
    label: 'SmartPay (its widget stores the card; SmartPay bills every cycle, the connector reports them)',
    flow: 'widget',
    country: 'US',
  },
  {
    id: 'cleverbridge',
    label: 'Cleverbridge (merchant of record; the connector renews and duns)',
    flow: 'cart',
    country: 'US',
    productId: '100001',
  },
];

/** ISO 8601 interval of an offer's period, for a connector-managed subscription. */
export function offerInterval(period: { unit: string; amount: number }): string {
  const unit =
    period.unit === 'week' ? 'W' : period.unit === 'year' ? 'Y' : period.unit === 'day' ? 'D' : 'M';
  return `P${period.amount}${unit}`;
}

export const DEMO_CARDS: readonly { number: string; label: string }[] = [
  { number: '4111111111111111', label: 'Visa 4111 … approved' },
  { number: THREE_DS_TEST_CARD, label: 'Visa 3220 … 3-D Secure challenge' },
  { number: '4000000000000002', label: 'Visa 0002 … declined (soft)' },
  { number: '4000000000000069', label: 'Visa 0069 … expired card (hard decline)' },
  { number: '4000000000009995', label: 'Visa 9995 … insufficient funds' },
];

export const DEMO_OFFERS = SANDBOX_OFFERS.filter((o) =>
  ['S100000001_US', 'S100000002_US', 'S100000006_US', 'S100000007_US'].includes(o.id),
);
