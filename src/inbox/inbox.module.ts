import { Module } from '@nestjs/common';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { InboxBatchWriter } from './inbox-batch-writer';
import { InboxEventEntity } from './inbox-event.entity';
import { InboxController } from './inbox.controller';
import { InboxService } from './inbox.service';
import { InboxWorker } from './inbox.worker';

@Module({
  imports: [TypeOrmModule.forFeature([InboxEventEntity])],
  controllers: [InboxController],
  providers: [
    InboxService,
    InboxWorker,
    {
      provide: InboxBatchWriter,
      useFactory: (db: DataSource) => new InboxBatchWriter(db),
      inject: [getDataSourceToken()],
    },
  ],
  exports: [InboxService, InboxWorker],
})
export class InboxModule {}
