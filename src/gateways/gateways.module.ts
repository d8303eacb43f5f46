import { Module, Provider } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { GATEWAY_PROVIDERS, GatewayRegistry } from './gateway.registry';
import { GatewayDefinition } from './gateway-definition';
import { GatewayProvider } from './gateway.provider';
import { GATEWAY_DEFINITIONS } from './gateways';

function optionsProvider(definition: GatewayDefinition): Provider {
  return {
    provide: definition.optionsToken,
    useFactory: (config: AppConfig): unknown => {
      const env = config.sections.get(definition.id);
      if (!env) {
        throw new Error(`gateway ${definition.id}: its env block was not validated (loadConfig sections)`);
      }
      return definition.options(env);
    },
    inject: [APP_CONFIG],
  };
}

/** Builds the registry from the definitions in gateways.ts: each one's options, adapter, and the list. */
@Module({
  providers: [
    ...GATEWAY_DEFINITIONS.map(optionsProvider),
    ...GATEWAY_DEFINITIONS.map((d) => d.provider),
    {
      provide: GATEWAY_PROVIDERS,
      useFactory: (...providers: GatewayProvider[]): GatewayProvider[] => providers,
      inject: GATEWAY_DEFINITIONS.map((d) => d.provider),
    },
    GatewayRegistry,
  ],
  exports: [GatewayRegistry],
})
export class GatewaysModule {}
