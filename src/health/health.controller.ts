import { Controller, Get, HttpCode } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DomainError } from '../common/errors/domain-error';
import { ShutdownCoordinator } from '../common/lifecycle/shutdown-coordinator';
import { NoRateLimit } from '../rate-limit/rate-limit.decorators';
import { LivenessView, ReadinessView } from './health.views';

@ApiTags('operations')
@NoRateLimit()
@Controller('health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly shutdown: ShutdownCoordinator,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiOkResponse({ type: LivenessView })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Readiness: the database answers and the instance is not shutting down (503 otherwise)',
  })
  @ApiOkResponse({ type: ReadinessView })
  async ready(): Promise<{ status: 'ok'; database: 'ok' }> {
    if (this.shutdown.draining) {
      // SIGTERM: in-flight work drains; new traffic goes to another instance
      throw new DomainError('NOT_READY', 'shutting down');
    }
    try {
      await this.db.query('SELECT 1');
      return { status: 'ok', database: 'ok' };
    } catch {
      throw new DomainError('NOT_READY', 'database unavailable');
    }
  }
}
