import { Module } from '@nestjs/common';
import { InboxController } from './inbox.controller';
import { InboxService } from './inbox.service';
import { InboxWorker } from './inbox.worker';

@Module({
  controllers: [InboxController],
  providers: [InboxService, InboxWorker],
  exports: [InboxService, InboxWorker],
})
export class InboxModule {}
