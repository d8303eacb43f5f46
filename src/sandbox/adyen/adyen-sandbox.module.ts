import { Module } from '@nestjs/common';
import { AdyenSandboxToolsController } from './adyen-sandbox-tools.controller';
import { AdyenSandboxController } from './adyen-sandbox.controller';
import { AdyenSandboxService } from './adyen-sandbox.service';
import { AdyenSandboxStore } from './adyen-sandbox.store';
import { AdyenSpecValidator } from './adyen-spec.validator';

/**
 * Adyen Checkout API v71 emulator under `/sandbox/adyen/v71`, plus its 3DS page and test routes under
 * `/sandbox/adyen`. Needs APP_CONFIG and SandboxFaults from the surrounding (global) providers.
 */
@Module({
  controllers: [AdyenSandboxController, AdyenSandboxToolsController],
  providers: [AdyenSandboxStore, AdyenSpecValidator, AdyenSandboxService],
  exports: [AdyenSandboxStore, AdyenSpecValidator],
})
export class AdyenSandboxModule {}
