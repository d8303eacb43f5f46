import { SetMetadata } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';

export const TOKENISE_THROTTLER = 'tokenise';
export const TOKENISE_LIMITED = 'rate-limit:tokenise';

/** The route runs a zero-amount auth: it also counts against the stricter hourly tokenise limit. */
export const TokeniseRateLimit = (): MethodDecorator => SetMetadata(TOKENISE_LIMITED, true);

/** Machine-to-machine or liveness routes (webhooks, health, metrics): never throttled. */
export const NoRateLimit = (): MethodDecorator & ClassDecorator =>
  SkipThrottle({ default: true, [TOKENISE_THROTTLER]: true });
