import { Types } from '@adyen/api-library';

/**
 * Adyen's wire types from `@adyen/api-library` (generated from Adyen's own OpenAPI specs: Checkout v71,
 * standard webhooks), under the names this folder uses. Enums are the library's runtime string enums.
 */
import checkout = Types.checkout;
import notification = Types.notification;

export type AdyenAmount = checkout.Amount;
export type AdyenPaymentRequest = checkout.PaymentRequest;
export type AdyenPaymentMethod = checkout.PaymentRequestPaymentMethod;
export type AdyenBrowserInfo = checkout.BrowserInfo;
export type AdyenPaymentResponse = checkout.PaymentResponse;
export type AdyenPaymentDetailsRequest = checkout.PaymentDetailsRequest;
export type AdyenCaptureRequest = checkout.PaymentCaptureRequest;
export type AdyenRefundRequest = checkout.PaymentRefundRequest;
export type AdyenCancelRequest = checkout.PaymentCancelRequest;
export type AdyenCancelByReferenceRequest = checkout.StandalonePaymentCancelRequest;
export type AdyenStoredPaymentMethodRequest = checkout.StoredPaymentMethodRequest;
export type AdyenStoredPaymentMethod = checkout.StoredPaymentMethodResource;
export type AdyenServiceError = checkout.ServiceError;
/** Every modification answer (capture, refund, cancel) carries what we read: `pspReference`, `status`. */
export type AdyenModificationResponse =
  | checkout.PaymentCaptureResponse
  | checkout.PaymentRefundResponse
  | checkout.PaymentCancelResponse
  | checkout.StandalonePaymentCancelResponse;

/**
 * A standard notification item. The library types `amount`'s fields as optional; the parser only lets
 * items through whose amount has both, so this narrows it.
 */
export type AdyenNotificationItem = notification.NotificationRequestItem & {
  amount: Required<notification.Amount>;
};

export const AdyenResultCode = checkout.PaymentResponse.ResultCodeEnum;
export const AdyenShopperInteraction = checkout.PaymentRequest.ShopperInteractionEnum;
export const AdyenRecurringProcessingModel = checkout.PaymentRequest.RecurringProcessingModelEnum;
export const AdyenStoredRecurringProcessingModel =
  checkout.StoredPaymentMethodRequest.RecurringProcessingModelEnum;
export const AdyenChannel = checkout.PaymentRequest.ChannelEnum;
export const AdyenCardType = checkout.CardDetails.TypeEnum;
export const AdyenRedirectActionType = checkout.CheckoutRedirectAction.TypeEnum;
export const AdyenEventCode = notification.NotificationRequestItem.EventCodeEnum;
export const AdyenNotificationSuccess = notification.NotificationRequestItem.SuccessEnum;
