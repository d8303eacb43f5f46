import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '../common/errors/domain-error';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { capabilityMismatches } from './gateway-operations';
import { GatewayProvider } from './gateway.provider';

export const GATEWAY_PROVIDERS = Symbol('GATEWAY_PROVIDERS');

/** A gateway whose capabilities disagree with its operations, or config naming a gateway that is not built. */
export class GatewayRegistryError extends Error {}

/**
 * The implemented gateways, by id. Built at boot, where it refuses a gateway whose declared capabilities
 * disagree with what it implements, and CLEENG_PAYMENT_METHODS or GATEWAY_RATE_LIMITS entries for gateways this
 * build lacks.
 */
@Injectable()
export class GatewayRegistry {
  private readonly byId: Map<string, GatewayProvider>;

  constructor(
    @Inject(GATEWAY_PROVIDERS) providers: GatewayProvider[],
    @Inject(APP_CONFIG)
    config: Pick<AppConfig, 'cleeng' | 'gatewayRateLimits'> & {
      inbox: Pick<AppConfig['inbox'], 'gatewayConcurrencyByGateway'>;
    },
  ) {
    const problems = providers.flatMap((p) => capabilityMismatches(p));
    this.byId = new Map(providers.map((p) => [p.id, p]));
    for (const id of config.cleeng.paymentMethods.keys()) {
      if (!this.byId.has(id)) {
        problems.push(
          `CLEENG_PAYMENT_METHODS: unknown gateway "${id}" (known: ${this.enabled().join(', ')})`,
        );
      }
    }
    const perGateway: [string, Iterable<string>][] = [
      ['GATEWAY_RATE_LIMITS', config.gatewayRateLimits.keys()],
      ['INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY', config.inbox.gatewayConcurrencyByGateway.keys()],
    ];
    for (const [variable, ids] of perGateway) {
      for (const id of ids) {
        if (!this.byId.has(id)) {
          problems.push(`${variable}: unknown gateway "${id}" (known: ${this.enabled().join(', ')})`);
        }
      }
    }
    if (problems.length > 0) {
      throw new GatewayRegistryError(problems.join('; '));
    }
  }

  get(id: string): GatewayProvider {
    const provider = this.byId.get(id);
    if (!provider) {
      throw new DomainError(
        'GATEWAY_NOT_AVAILABLE',
        `unknown gateway "${id}" (known: ${this.enabled().join(', ')})`,
      );
    }
    return provider;
  }

  /** The gateway that offers this operation (e.g. the merchant of record's processCart). */
  offering(operation: 'processCart'): GatewayProvider {
    const provider = [...this.byId.values()].find((p) => typeof p[operation] === 'function');
    if (!provider) {
      throw new DomainError('GATEWAY_NOT_AVAILABLE', `no enabled gateway offers ${operation}`);
    }
    return provider;
  }

  enabled(): string[] {
    return [...this.byId.keys()];
  }
}
