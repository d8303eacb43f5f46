import { Module } from '@nestjs/common';
import { SandboxClockController } from './sandbox-clock.controller';
import { SandboxClockService } from './sandbox-clock.service';

/**
 * The sandbox test clock. Needs the app-wide Clock (CommonModule, global). Emulator modules import this
 * module to register `onAdvance` listeners; SandboxModule re-exports it for the rest of the app.
 */
@Module({
  controllers: [SandboxClockController],
  providers: [SandboxClockService],
  exports: [SandboxClockService],
})
export class SandboxClockModule {}
