import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { InboxEventEntity } from './inbox-event.entity';
import { InboxController } from './inbox.controller';
import { InboxService } from './inbox.service';
import { InboxWorker } from './inbox.worker';

@Module({
  imports: [TypeOrmModule.forFeature([InboxEventEntity])],
  controllers: [InboxController],
  providers: [InboxService, InboxWorker],
  exports: [InboxService, InboxWorker],
})
export class InboxModule {}
