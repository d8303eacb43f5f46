import { Injectable } from '@nestjs/common';
import {
  parseCreateOrder,
  parseCreateExternalPayment,
  parseCreatePayment,
  parseCreatePaymentDetails,
  parsePathId,
  parseSubscriptionList,
  parseTerminateSubscription,
  parseUpdatePayment,
  parseUpdateSubscription,
} from './cleeng-sandbox.parse';
import { CleengSandboxStore } from './cleeng-sandbox.store';
import { fail, Outcome } from './cleeng-sandbox.types';
import { apiPayment, CleengResponse, envelope } from './cleeng-sandbox.wire';

function andThen<T, U>(outcome: Outcome<T>, next: (value: T) => Outcome<U>): Outcome<U> {
  return outcome.ok ? next(outcome.value) : outcome;
}

function map<T, U>(outcome: Outcome<T>, toWire: (value: T) => U): Outcome<U> {
  return outcome.ok ? { ok: true, value: toWire(outcome.value) } : outcome;
}

/** A path id that is not digits names nothing, exactly like an unknown id. */
function pathId(raw: string, notFound: string): Outcome<number> {
  const id = parsePathId(raw);
  return id === undefined ? fail(404, notFound) : { ok: true, value: id };
}

/** The Cleeng 3.1 operations, request body in, Cleeng response (status + envelope) out. */
@Injectable()
export class CleengSandboxApi {
  constructor(private readonly store: CleengSandboxStore) {}

  createOrder(body: unknown): CleengResponse {
    const order = andThen(parseCreateOrder(body), (input) => this.store.createOrder(input));
    return envelope(
      map(order, (o) => this.store.wireOrder(o)),
      'order',
    );
  }

  createPayment(body: unknown): CleengResponse {
    // no orderId but a netAmount: the externally managed variant (a charge the connector's schedule made)
    const external = typeof body === 'object' && body !== null && !('orderId' in body) && 'netAmount' in body;
    const payment = external
      ? andThen(parseCreateExternalPayment(body), (input) => this.store.createExternalPayment(input))
      : andThen(parseCreatePayment(body), (input) => this.store.createPayment(input));
    return envelope(
      map(payment, (p) => apiPayment(this.store.wirePayment(p))),
      'payment',
      { message: 'Payment created successfully' },
    );
  }

  updatePayment(rawId: string, body: unknown): CleengResponse {
    const payment = andThen(pathId(rawId, `Payment with id ${rawId} not found`), (id) =>
      andThen(parseUpdatePayment(body), (input) => this.store.updatePayment(id, input)),
    );
    return envelope(
      map(payment, (p) => apiPayment(this.store.wirePayment(p))),
      'payment',
    );
  }

  cancelPayment(rawId: string): CleengResponse {
    const payment = andThen(pathId(rawId, `Payment with id ${rawId} not found`), (id) =>
      this.store.cancelPayment(id),
    );
    return envelope(
      map(payment, (p) => apiPayment(this.store.wirePayment(p))),
      'payment',
    );
  }

  createPaymentDetails(body: unknown): CleengResponse {
    const details = andThen(parseCreatePaymentDetails(body), (input) =>
      this.store.createPaymentDetails(input),
    );
    return envelope(
      map(details, (d) => this.store.wirePaymentDetails(d)),
      'data',
      { message: 'Payment details created successfully' },
    );
  }

  authorisedPayments(rawId: string): CleengResponse {
    const payments = andThen(pathId(rawId, `Payment details with id ${rawId} not found`), (id) =>
      this.store.authorisedPayments(id),
    );
    return envelope(
      map(payments, (list) => list.map((p) => apiPayment(this.store.wirePayment(p)))),
      'data',
    );
  }

  deletePaymentDetails(rawId: string): CleengResponse {
    const deleted = andThen(pathId(rawId, `Payment details with id ${rawId} not found`), (id) =>
      this.store.deletePaymentDetails(id),
    );
    return deleted.ok ? { status: 200, body: { success: true } } : envelope(deleted, 'data');
  }

  putWebhookSubscription(topic: string, body: unknown): CleengResponse {
    return envelope(this.store.webhookSubscriptions.put(topic, body), 'data');
  }

  listWebhookSubscriptions(): CleengResponse {
    return envelope({ ok: true, value: this.store.webhookSubscriptions.list() }, 'data');
  }

  listSubscriptions(query: Record<string, unknown>): CleengResponse {
    const list = andThen(parseSubscriptionList(query), (filter) => this.store.listSubscriptions(filter));
    return envelope(
      map(list, (subscriptions) => subscriptions.map((s) => this.store.wireSubscription(s))),
      'data',
    );
  }

  updateSubscription(rawId: string, body: unknown): CleengResponse {
    const subscription = andThen(pathId(rawId, `Subscription with id ${rawId} does not exists`), (id) =>
      andThen(parseUpdateSubscription(body), (input) => this.store.updateSubscription(id, input)),
    );
    return envelope(
      map(subscription, (s) => this.store.wireSubscription(s)),
      'subscription',
      { nullOnFailure: true },
    );
  }

  terminateSubscription(rawId: string, body: unknown): CleengResponse {
    const subscription = andThen(pathId(rawId, `Subscription with id ${rawId} does not exists`), (id) =>
      andThen(parseTerminateSubscription(body), (type) => this.store.terminateSubscription(id, type)),
    );
    return envelope(
      map(subscription, (s) => this.store.wireSubscription(s)),
      'subscription',
      { nullOnFailure: true },
    );
  }
}
