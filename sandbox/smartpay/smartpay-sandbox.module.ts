import { Module } from '@nestjs/common';
import { SmartPayNotifier } from './smartpay-notifier';
import { SmartPaySandboxController, SmartPaySandboxToolsController } from './smartpay-sandbox.controller';
import { SmartPaySandboxStore } from './smartpay-sandbox.store';

/**
 * SmartPay Subscription Module emulator under `/sandbox/smartpay` (plans, subscriptions, payment series,
 * PS transactions, a widget stand-in, test routes) with a notifier that calls back `/webhooks/smartpay`.
 * Billing cycles run on the sandbox test clock. Needs SandboxCoreModule (global).
 */
@Module({
  controllers: [SmartPaySandboxController, SmartPaySandboxToolsController],
  providers: [SmartPaySandboxStore, SmartPayNotifier],
  exports: [SmartPaySandboxStore, SmartPayNotifier],
})
export class SmartPaySandboxModule {}
