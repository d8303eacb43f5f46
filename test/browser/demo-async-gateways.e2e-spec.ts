import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { CARDS, OFFERS } from '../support/flows';
import { startTestApp, TestApp } from '../support/test-app';
import { chromiumPresent, CHROMIUM_PATH, launchChromium, SCREENSHOTS } from './chromium';

const present = chromiumPresent();
if (!present) {
  console.warn(
    `browser tests SKIPPED: no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set CHROMIUM_PATH)`,
  );
}
const describeWithBrowser = present ? describe : describe.skip;

interface SgRequest {
  path: string;
  body?: unknown;
}

/**
 * Issue 12's demo checkout with the two asynchronous gateways, in headless Chromium: Smart Glocal (a card in
 * its own words, settled by webhooks, through its 3-D Secure redirect) and SmartPay (the widget stand-in stores
 * the card, the widget result completes the payment). Pages are saved under test-artifacts/browser/.
 */
describeWithBrowser('demo checkout with Smart Glocal and SmartPay in Chromium', () => {
  let app: TestApp;
  let browser: BrowserContext;
  let page: Page;

  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    app = await startTestApp({ REBILL_CRON: 'off' });
    browser = await launchChromium();
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('pays through Smart Glocal: pending, the 3-D Secure redirect, then captured by its webhooks', async () => {
    await page.goto(`${app.url}/demo`);
    await page.selectOption('#offerId', OFFERS.monthlyUsd);
    await page.selectOption('#gateway', 'smart-glocal');
    await page.selectOption('#card', CARDS.threeDS);
    await page.click('button[type=submit]');
    // the payment answered pending; the demo polled until the webhooks put it in action_required
    await page.waitForURL(/\/sandbox\/smart-glocal\/3ds\/ps_/, { timeout: 60_000 });
    await shot('30-demo-smart-glocal-3ds');
    await Promise.all([page.waitForURL(/\/demo\/orders\//, { timeout: 60_000 }), page.click('#approve')]);
    expect(await page.textContent('#payment-status')).toBe('captured');
    // the completion call was accepted, or found the payment already settled by the webhooks (a refused one shows
    // its error on the page)
    expect(await page.$('p.error')).toBeNull();
    expect(await page.textContent('#cleeng-payments')).toContain('initial-payment');
    await shot('31-demo-smart-glocal-captured');

    // the card went to Smart Glocal in its own words, and its session is the payment's
    const href = (await page.getAttribute('a[href^="/dashboard/payments/"]', 'href')) ?? '';
    const payment = (await app.http.get(href.replace('/dashboard', '/v1')).set('X-Api-Key', 'sandbox-key'))
      .body as { status: string; externalPaymentId: string };
    expect(payment.status).toBe('captured');
    const session = await app.http.get(`/sandbox/smart-glocal/sessions/${payment.externalPaymentId}`);
    expect(session.status).toBe(200);
    const requests = (await app.http.get('/sandbox/smart-glocal/requests')).body as SgRequest[];
    expect(
      requests.some(
        (r) => r.path === 'session/init/payment' && JSON.stringify(r.body).includes('Demo Shopper'),
      ),
    ).toBe(true);
  }, 150_000);

  it('pays through SmartPay: the widget stores the card, its result completes the payment, captured', async () => {
    await page.goto(`${app.url}/demo`);
    await page.selectOption('#offerId', OFFERS.monthlyUsd);
    await page.selectOption('#gateway', 'smartpay');
    await page.click('button[type=submit]');
    const widget = page.frameLocator('#gateway-widget');
    await widget.locator('input[name=card]').fill(CARDS.approve);
    await shot('32-demo-smartpay-widget');
    await widget.locator('button').click();
    await widget.locator('text=stored').waitFor({ timeout: 30_000 });
    await Promise.all([page.waitForURL(/\/demo\/orders\//, { timeout: 60_000 }), page.click('#widget-done')]);
    expect(await page.textContent('#payment-status')).toBe('captured');
    expect(await page.$('p.error')).toBeNull();
    expect(await page.textContent('#gateway-cycles')).toContain('succeeded');
    expect(await page.textContent('#cleeng-payments')).toMatch(/captured[\s\S]*initial-payment/);
    await shot('33-demo-smartpay-captured');
  }, 150_000);
});
