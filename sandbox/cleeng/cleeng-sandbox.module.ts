import { Module } from '@nestjs/common';
import { CleengSandboxOperator } from './cleeng-sandbox-operator';
import { CleengSandboxWebhooksController } from './cleeng-sandbox-webhooks.controller';
import { CleengSandboxApi } from './cleeng-sandbox.api';
import { CleengSandboxController, CleengSandboxInspectionController } from './cleeng-sandbox.controller';
import { CleengSandboxStore } from './cleeng-sandbox.store';
import { CleengRenewalScheduler } from './cleeng-renewals';
import { CleengWebhookEmitter } from './cleeng-webhook.emitter';

/**
 * The Cleeng Core API 3.1 emulator, its signed webhooks to `/webhooks/cleeng`, and renewals driven by the
 * sandbox test clock. Needs SANDBOX_SETTINGS, Clock and SandboxFaults (SandboxCoreModule, global).
 */
@Module({
  controllers: [CleengSandboxController, CleengSandboxInspectionController, CleengSandboxWebhooksController],
  providers: [
    CleengSandboxStore,
    CleengSandboxApi,
    CleengWebhookEmitter,
    CleengRenewalScheduler,
    CleengSandboxOperator,
  ],
  exports: [CleengSandboxStore, CleengWebhookEmitter, CleengRenewalScheduler],
})
export class CleengSandboxModule {}
