import { Module } from '@nestjs/common';
import { AdyenGateway } from './adyen/adyen.gateway';
import { CleverbridgeGateway } from './cleverbridge/cleverbridge.gateway';
import { GATEWAY_PROVIDERS, GatewayRegistry } from './gateway.registry';
import { GatewayProvider } from './gateway.provider';

/** Builds the registry from every implemented gateway; add a new one to `inject` and the factory. */
@Module({
  providers: [
    AdyenGateway,
    CleverbridgeGateway,
    {
      provide: GATEWAY_PROVIDERS,
      useFactory: (...providers: GatewayProvider[]): GatewayProvider[] => providers,
      inject: [AdyenGateway, CleverbridgeGateway],
    },
    GatewayRegistry,
  ],
  exports: [GatewayRegistry],
})
export class GatewaysModule {}
