import type { Type } from '@nestjs/common';
import type { ClassConstructor } from 'class-transformer';
import type { GatewayProvider } from './gateway.provider';

/**
 * Everything the rest of the application needs to know about one gateway. A new gateway is its folder
 * (adapter, mappers, webhook parsing, options, errors, this definition) plus one line in gateway.registry.ts.
 */
export interface GatewayDefinition<Id extends string = string> {
  id: Id;
  /** its env block: a class-validator schema whose property names are the variable names */
  env: ClassConstructor<object>;
  /** turns the validated env block into the options its provider injects under `optionsToken` */
  options: (env: object) => unknown;
  optionsToken: symbol;
  /** the adapter (a Nest injectable implementing GatewayProvider) */
  provider: Type<GatewayProvider>;
  /** pino redaction paths for its wire secrets (e.g. a redirect result in the return URL's query) */
  redactPaths: readonly string[];
  /**
   * Default calls-per-second ceiling (GATEWAY_RATE_LIMITS overrides): conservative, below what the vendor documents
   * or tolerates without an agreement; the reason sits beside the number in its definition.
   */
  callsPerSecond: number;
}

/** Ties an env schema to its option resolver with types, then erases them for the heterogeneous list. */
export function defineGateway<Id extends string, Env extends object, Options>(definition: {
  id: Id;
  env: ClassConstructor<Env>;
  options: (env: Env) => Options;
  optionsToken: symbol;
  provider: Type<GatewayProvider>;
  redactPaths?: readonly string[];
  callsPerSecond: number;
}): GatewayDefinition<Id> {
  return {
    ...definition,
    // safe: loadConfig validated the block with `definition.env` before this runs
    options: (env: object) => definition.options(env as Env),
    redactPaths: definition.redactPaths ?? [],
  };
}
