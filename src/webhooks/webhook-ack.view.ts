import { ApiProperty } from '@nestjs/swagger';

export class CleengWebhookAckView {
  @ApiProperty({ enum: [true] }) received!: true;
  @ApiProperty({ description: 'the event was stored before (a redelivery)' }) duplicate!: boolean;
}
