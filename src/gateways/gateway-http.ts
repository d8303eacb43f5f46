import {
  HttpClient,
  HttpNetworkError,
  HttpRequest,
  HttpResponse,
  HttpTimeoutError,
} from '../common/http/http-client';
import { GatewayOutcomeUnknownError, GatewayUnavailableError } from './gateway.errors';

/**
 * One request to a gateway. Transport failures become gateway errors: a timeout or a dropped
 * connection is an unknown outcome (the gateway may have acted); a connection never made is
 * "not processed". HTTP statuses are left to the gateway, which knows its error bodies.
 */
export async function sendToGateway(
  http: HttpClient,
  gateway: string,
  request: HttpRequest,
): Promise<HttpResponse> {
  try {
    return await http.request(request);
  } catch (err) {
    if (err instanceof HttpTimeoutError) {
      throw new GatewayOutcomeUnknownError(gateway, err.message);
    }
    if (err instanceof HttpNetworkError) {
      if (err.notSent) {
        throw new GatewayUnavailableError(gateway, err.message, true);
      }
      throw new GatewayOutcomeUnknownError(gateway, err.message);
    }
    throw err;
  }
}
