import { DomainError } from '../common/errors/domain-error';

/**
 * Failures to get an answer from a gateway. These are not declines: a decline is a
 * `rejected` result with a normalised code.
 */

/** Timed out or connection dropped after sending: the gateway may have acted. Retry with the SAME key only. */
export class GatewayOutcomeUnknownError extends Error {
  constructor(
    readonly gateway: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The gateway failed (5xx) or could not be reached. With `notProcessed` the request certainly had no
 * effect (connection refused); otherwise a replay under the same key is safe but the outcome is open.
 */
export class GatewayUnavailableError extends Error {
  constructor(
    readonly gateway: string,
    message: string,
    readonly notProcessed: boolean,
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

/** The gateway refused our request as invalid (4xx): a bug or bad input, never retried. */
export class GatewayRequestRejectedError extends Error {
  constructor(
    readonly gateway: string,
    message: string,
    readonly httpStatus: number,
    readonly gatewayCode?: string,
  ) {
    super(message);
  }
}

/** The operation is not something this gateway does (see its capabilities): 422 wherever it surfaces. */
export class GatewayOperationUnsupportedError extends DomainError {
  constructor(
    readonly gateway: string,
    readonly operation: string,
  ) {
    super('GATEWAY_OPERATION_UNSUPPORTED', `gateway ${gateway} does not support ${operation}`);
  }
}
