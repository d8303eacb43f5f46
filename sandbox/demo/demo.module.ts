import { Module } from '@nestjs/common';
import { DemoController } from './demo.controller';

/** The demo checkout at /demo (sandbox only: it lives in sandbox/, which the production build leaves out). */
@Module({ controllers: [DemoController] })
export class DemoModule {}
