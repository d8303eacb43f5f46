import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { TokenCipher } from '../common/crypto/token-cipher';
import type { CardMetadata } from '../gateways/gateway.provider';
import type { GatewayId } from '../gateways/gateway-ids';
import { PaymentDetailsEntity } from './payment-details.entity';

export interface NewPaymentDetails {
  customerId: string;
  gateway: GatewayId;
  shopperReference: string;
  token: string;
  card: CardMetadata;
}

/** Recurring tokens: sealed at rest, revealed only to make a gateway call or a Cleeng report. */
@Injectable()
export class PaymentDetailsService {
  constructor(private readonly cipher: TokenCipher) {}

  async create(manager: EntityManager, input: NewPaymentDetails): Promise<PaymentDetailsEntity> {
    return manager.save(
      manager.create(PaymentDetailsEntity, {
        customerId: input.customerId,
        gateway: input.gateway,
        shopperReference: input.shopperReference,
        tokenSealed: this.cipher.encrypt(input.token),
        card: input.card,
        cleengPaymentDetailsId: null,
        status: 'active',
      }),
    );
  }

  async linkCleengId(manager: EntityManager, id: string, cleengPaymentDetailsId: string): Promise<void> {
    await manager.update(PaymentDetailsEntity, { id }, { cleengPaymentDetailsId });
  }

  revealToken(details: PaymentDetailsEntity): string {
    return this.cipher.decrypt(details.tokenSealed);
  }
}
