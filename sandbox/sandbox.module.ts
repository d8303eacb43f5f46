import { DynamicModule, Module } from '@nestjs/common';
import { AdyenSandboxModule } from './adyen/adyen-sandbox.module';
import { SandboxAuthController } from './auth/sandbox-auth.controller';
import { SandboxAuthService } from './auth/sandbox-auth.service';
import { CleengSandboxModule } from './cleeng/cleeng-sandbox.module';
import { CleverbridgeSandboxModule } from './cleverbridge/cleverbridge-sandbox.module';
import { DemoModule } from './demo/demo.module';
import { SandboxClockController } from './clock/sandbox-clock.controller';
import { SandboxClockService } from './clock/sandbox-clock.service';
import { SandboxFaultsController } from './faults/sandbox-faults.controller';
import { SandboxCoreModule } from './sandbox-core.module';
import { SmartPaySandboxModule } from './smartpay/smartpay-sandbox.module';
import { SandboxSettings } from './sandbox-settings';
import { SmartGlocalSandboxModule } from './smart-glocal/smart-glocal-sandbox.module';

/** Emulators of every outside system, mounted under /sandbox when SANDBOX=true (see sandbox/index.ts). */
@Module({})
export class SandboxModule {
  static forRoot(settings: SandboxSettings, clock: SandboxClockService): DynamicModule {
    return {
      module: SandboxModule,
      imports: [
        SandboxCoreModule.forRoot(settings, clock),
        AdyenSandboxModule,
        CleengSandboxModule,
        CleverbridgeSandboxModule,
        SmartGlocalSandboxModule,
        SmartPaySandboxModule,
        DemoModule,
      ],
      controllers: [SandboxAuthController, SandboxFaultsController, SandboxClockController],
      providers: [SandboxAuthService],
    };
  }
}
