import { Module } from '@nestjs/common';
import { CleverbridgeNotifier } from './cleverbridge-notifier';
import {
  CleverbridgeSandboxController,
  CleverbridgeSandboxToolsController,
} from './cleverbridge-sandbox.controller';
import { CleverbridgeSandboxService } from './cleverbridge-sandbox.service';
import { CleverbridgeSandboxStore } from './cleverbridge-sandbox.store';

/**
 * Cleverbridge REST emulator under `/sandbox/cleverbridge` (ProcessCart, hosted checkout stand-in, test
 * routes) with a notifier that calls back `/webhooks/cleverbridge`. Needs SANDBOX_SETTINGS, Clock and
 * SandboxFaults (SandboxCoreModule, global). Registers with the sandbox test clock
 * (SandboxCoreModule): every advance runs Cleverbridge's scheduled payment retries that became due.
 */
@Module({
  controllers: [CleverbridgeSandboxController, CleverbridgeSandboxToolsController],
  providers: [CleverbridgeSandboxStore, CleverbridgeNotifier, CleverbridgeSandboxService],
  exports: [CleverbridgeSandboxService, CleverbridgeSandboxStore, CleverbridgeNotifier],
})
export class CleverbridgeSandboxModule {}
