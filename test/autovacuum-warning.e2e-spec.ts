import { DataSource } from 'typeorm';
import { AUTOVACUUM_OFF_WARNING } from '../src/database/autovacuum-check';
import { captureLogs, eventually, startTestApp } from './support/test-app';

/**
 * Without autovacuum the queue tables never get statistics nor lose their processed rows (docs/performance-history.md,
 * eighth pass), so the app says so at boot. Its own file: the log sink is the first app's in a jest process.
 * PostgreSQL only: PGlite has no autovacuum setting to speak of and the app does not check it there.
 */
const onPostgres = process.env.E2E_DATABASE === 'embedded' ? describe.skip : describe;
onPostgres('autovacuum at boot', () => {
  it('the app warns at boot exactly when the server runs without autovacuum', async () => {
    const logs = captureLogs();
    const app = await startTestApp(
      { LOG_LEVEL: 'info', REBILL_CRON: 'off' },
      { logDestination: logs.destination },
    );
    try {
      const [row]: { autovacuum: string }[] = await app.app.get(DataSource).query('SHOW autovacuum');
      const messagesOf = (): (string | undefined)[] =>
        logs.lines.map((line) => (JSON.parse(line) as { msg?: string }).msg);
      // the boot's logs reach the sink a moment after it listens; the check is written before this line
      const messages = await eventually(() => {
        const found = messagesOf();
        return Promise.resolve(found.includes('Nest application successfully started') ? found : undefined);
      });
      const warned = messages.includes(AUTOVACUUM_OFF_WARNING);
      expect(warned).toBe(row?.autovacuum === 'off');
    } finally {
      await app.close();
    }
  });
});
