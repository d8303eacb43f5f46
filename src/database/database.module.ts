import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MIGRATIONS } from '../../migrations';
import { PreparingClient } from './preparing-client';

/** How the pool connects and sends statements. */
export interface DatabaseOptions {
  /** server-side statement_timeout; 0 = none */
  statementTimeoutMs: number;
  /** connecting, and waiting for a free pooled connection; 0 = forever */
  connectTimeoutMs: number;
  /** statements with parameters as named prepared statements (PreparingClient) */
  preparedStatements?: boolean;
}

/** One code path for both databases: the `pg` driver to a URL (the machine's PostgreSQL or embedded PGlite). */
@Module({})
export class DatabaseModule {
  static forRoot(
    url: string,
    poolSize: number,
    options: DatabaseOptions = { statementTimeoutMs: 0, connectTimeoutMs: 0 },
  ): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRoot({
          type: 'postgres',
          url,
          // each domain module registers its own entities (TypeOrmModule.forFeature)
          autoLoadEntities: true,
          migrations: MIGRATIONS,
          migrationsRun: true,
          migrationsTransactionMode: 'each',
          synchronize: false,
          // PGlite has no uuid-ossp; we only use gen_random_uuid()
          installExtensions: false,
          extra: {
            max: poolSize,
            // a runaway query or an exhausted pool fails the request instead of hanging it
            ...(options.statementTimeoutMs > 0 ? { statement_timeout: options.statementTimeoutMs } : {}),
            ...(options.connectTimeoutMs > 0 ? { connectionTimeoutMillis: options.connectTimeoutMs } : {}),
            // pg-pool's own extension point: the client class its connections are made with
            ...(options.preparedStatements ? { Client: PreparingClient } : {}),
          },
          // failures surface as exceptions and are logged once by the exception filter
          logging: false,
        }),
      ],
    };
  }
}
