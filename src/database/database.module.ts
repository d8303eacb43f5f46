import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MIGRATIONS } from '../../migrations';

/** One code path for both databases: the `pg` driver to a URL (the machine's PostgreSQL or embedded PGlite). */
@Module({})
export class DatabaseModule {
  static forRoot(url: string, poolSize: number): DynamicModule {
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
          extra: { max: poolSize },
          // failures surface as exceptions and are logged once by the exception filter
          logging: false,
        }),
      ],
    };
  }
}
