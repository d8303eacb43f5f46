import { Module } from '@nestjs/common';
import { SmartGlocalSandboxToolsController } from './smart-glocal-sandbox-tools.controller';
import { SmartGlocalSandboxController } from './smart-glocal-sandbox.controller';
import { SmartGlocalSandboxService } from './smart-glocal-sandbox.service';

/**
 * Smart Glocal session API emulator under `/sandbox/smart-glocal/api/v1`, its 3DS page and test routes under
 * `/sandbox/smart-glocal`, and signed webhooks to `/webhooks/smart-glocal`. Needs SANDBOX_SETTINGS,
 * SandboxClockService and SandboxFaults from SandboxCoreModule (global).
 */
@Module({
  controllers: [SmartGlocalSandboxController, SmartGlocalSandboxToolsController],
  providers: [SmartGlocalSandboxService],
})
export class SmartGlocalSandboxModule {}
