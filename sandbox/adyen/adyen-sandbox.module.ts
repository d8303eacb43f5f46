import { Module } from '@nestjs/common';
import { AdyenSandboxToolsController } from './adyen-sandbox-tools.controller';
import { AdyenSandboxWebhooksController } from './adyen-sandbox-webhooks.controller';
import { AdyenSandboxController } from './adyen-sandbox.controller';
import { AdyenSandboxService } from './adyen-sandbox.service';
import { AdyenSandboxStore } from './adyen-sandbox.store';
import { AdyenSpecValidator } from './adyen-spec.validator';
import { AdyenWebhookEmitter } from './adyen-webhook.emitter';

/**
 * Adyen Checkout API v71 emulator under `/sandbox/adyen/v71`, plus its 3DS page, test routes and signed
 * notification webhooks to `/webhooks/adyen` under `/sandbox/adyen`. Needs SANDBOX_SETTINGS and SandboxFaults from
 * SandboxCoreModule (global).
 */
@Module({
  controllers: [AdyenSandboxController, AdyenSandboxToolsController, AdyenSandboxWebhooksController],
  providers: [AdyenSandboxStore, AdyenSpecValidator, AdyenSandboxService, AdyenWebhookEmitter],
  exports: [AdyenSandboxStore, AdyenSpecValidator, AdyenWebhookEmitter],
})
export class AdyenSandboxModule {}
