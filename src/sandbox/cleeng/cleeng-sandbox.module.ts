import { Module } from '@nestjs/common';
import { CleengSandboxApi } from './cleeng-sandbox.api';
import { CleengSandboxController, CleengSandboxInspectionController } from './cleeng-sandbox.controller';
import { CleengSandboxStore } from './cleeng-sandbox.store';

/**
 * The Cleeng Core API 3.1 emulator. Needs APP_CONFIG and Clock (global) and SandboxFaults (from the
 * app's SandboxModule). Exports the store so the test clock and webhook sender can drive renewals.
 */
@Module({
  controllers: [CleengSandboxController, CleengSandboxInspectionController],
  providers: [CleengSandboxStore, CleengSandboxApi],
  exports: [CleengSandboxStore],
})
export class CleengSandboxModule {}
