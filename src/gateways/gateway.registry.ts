import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '../common/errors/domain-error';
import { GatewayProvider } from './gateway.provider';
import { GATEWAY_IDS, GatewayId, isGatewayId } from './gateway-ids';

export const GATEWAY_PROVIDERS = Symbol('GATEWAY_PROVIDERS');

@Injectable()
export class GatewayRegistry {
  private readonly byId: Map<GatewayId, GatewayProvider>;

  constructor(@Inject(GATEWAY_PROVIDERS) providers: GatewayProvider[]) {
    this.byId = new Map(providers.map((p) => [p.id, p]));
  }

  get(id: string): GatewayProvider {
    if (!isGatewayId(id)) {
      throw new DomainError(
        'GATEWAY_NOT_AVAILABLE',
        `unknown gateway "${id}" (known: ${GATEWAY_IDS.join(', ')})`,
      );
    }
    const provider = this.byId.get(id);
    if (!provider) {
      throw new DomainError('GATEWAY_NOT_AVAILABLE', `gateway "${id}" is not enabled in this deployment`);
    }
    return provider;
  }

  enabled(): GatewayId[] {
    return [...this.byId.keys()];
  }
}
