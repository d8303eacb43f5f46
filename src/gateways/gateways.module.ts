import { Inject, Module, OnModuleDestroy, Provider } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { GATEWAY_PROVIDERS, GatewayRegistry } from './gateway.registry';
import { GatewayDefinition } from './gateway-definition';
import { GatewayProvider } from './gateway.provider';
import { GATEWAY_DEFINITIONS } from './gateways';
import { GatewayRateLimits, installedGatewayRateLimits } from './gateway-rate-limits';

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
export class GatewaysModule implements OnModuleDestroy {
  private readonly rateLimits: GatewayRateLimits;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    // the registry (built first) has refused GATEWAY_RATE_LIMITS entries for gateways this build lacks
    this.rateLimits = new GatewayRateLimits(
      new Map(GATEWAY_DEFINITIONS.map((d) => [d.id, config.gatewayRateLimits.get(d.id) ?? d.callsPerSecond])),
    );
    installedGatewayRateLimits.install(this.rateLimits);
  }

  onModuleDestroy(): void {
    installedGatewayRateLimits.remove(this.rateLimits);
  }
}
