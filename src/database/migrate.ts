import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { resolveRuntimeMode } from '../config/config.factory';
import { MIGRATIONS } from '../../migrations';
import { startEmbeddedPostgres } from './embedded-postgres';

/** `npm run migration:run [-- revert|show]`: the same migrations the app runs at start. */
async function main(): Promise<void> {
  const command = process.argv[2] ?? 'run';
  // only the database is needed here: no gateway or sandbox settings
  const config = resolveRuntimeMode();
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir);
  const db = new DataSource({
    type: 'postgres',
    url: config.databaseUrl ?? embedded?.url,
    // raw-SQL migrations: no entity metadata needed
    entities: [],
    migrations: MIGRATIONS,
    migrationsTransactionMode: 'each',
    installExtensions: false,
    extra: { max: 1 },
  });
  await db.initialize();
  try {
    if (command === 'run') {
      const applied = await db.runMigrations();
      console.log(
        applied.length ? `applied: ${applied.map((m) => m.name).join(', ')}` : 'database is up to date',
      );
    } else if (command === 'revert') {
      await db.undoLastMigration();
      console.log('reverted the last migration');
    } else if (command === 'show') {
      console.log((await db.showMigrations()) ? 'pending migrations exist' : 'database is up to date');
    } else {
      throw new Error(`unknown command "${command}" (run | revert | show)`);
    }
  } finally {
    await db.destroy();
    await embedded?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
