import { Module } from '@nestjs/common';
import { AdyenGateway } from './adyen/adyen.gateway';
import { GATEWAY_PROVIDERS, GatewayRegistry } from './gateway.registry';
import { GatewayProvider } from './gateway.provider';

/** Builds the registry from every implemented gateway; add a new one to `inject` and the factory. */
@Module({
  providers: [
    AdyenGateway,
    {
      provide: GATEWAY_PROVIDERS,
      useFactory: (...providers: GatewayProvider[]): GatewayProvider[] => providers,
      inject: [AdyenGateway],
    },
    GatewayRegistry,
  ],
  exports: [GatewayRegistry],
})
export class GatewaysModule {}
