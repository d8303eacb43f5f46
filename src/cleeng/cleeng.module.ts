import { Module } from '@nestjs/common';
import { CleengClient } from './cleeng.client';

@Module({
  providers: [CleengClient],
  exports: [CleengClient],
})
export class CleengModule {}
