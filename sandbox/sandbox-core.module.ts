import { DynamicModule, Module } from '@nestjs/common';
import { Clock } from './clock/clock';
import { SandboxClockService } from './clock/sandbox-clock.service';
import { SandboxFaults } from './faults/sandbox-faults';
import { SANDBOX_SETTINGS, SandboxSettings } from './sandbox-settings';

/**
 * What every emulator shares, global within the app: the settings, the test clock (as the emulators'
 * Clock and as SandboxClockService for `onAdvance`), and fault injection. Specs mount it with their own
 * settings and clock.
 */
@Module({})
export class SandboxCoreModule {
  static forRoot(settings: SandboxSettings, clock: SandboxClockService): DynamicModule {
    return {
      module: SandboxCoreModule,
      global: true,
      providers: [
        { provide: SANDBOX_SETTINGS, useValue: settings },
        { provide: SandboxClockService, useValue: clock },
        { provide: Clock, useValue: clock },
        SandboxFaults,
      ],
      exports: [SANDBOX_SETTINGS, SandboxClockService, Clock, SandboxFaults],
    };
  }
}
