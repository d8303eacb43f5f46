import { Global, Module } from '@nestjs/common';
import { AdyenSandboxModule } from './adyen/adyen-sandbox.module';
import { SandboxAuthController } from './auth/sandbox-auth.controller';
import { SandboxAuthService } from './auth/sandbox-auth.service';
import { CleengSandboxModule } from './cleeng/cleeng-sandbox.module';
import { CleverbridgeSandboxModule } from './cleverbridge/cleverbridge-sandbox.module';
import { SandboxClockModule } from './clock/sandbox-clock.module';
import { SandboxFaults } from './faults/sandbox-faults';
import { SandboxFaultsController } from './faults/sandbox-faults.controller';

/** Emulators of every outside system, mounted under /sandbox when SANDBOX=true. */
@Global()
@Module({
  imports: [SandboxClockModule, AdyenSandboxModule, CleengSandboxModule, CleverbridgeSandboxModule],
  controllers: [SandboxAuthController, SandboxFaultsController],
  providers: [SandboxFaults, SandboxAuthService],
  // SandboxClockService (via its module): every emulator and scheduler may register onAdvance listeners
  exports: [SandboxFaults, SandboxClockModule],
})
export class SandboxModule {}
