// Embedded PostgreSQL for the default (no DATABASE_URL) run: PGlite served over the Postgres wire
// protocol from a child process, because PGlite runs on the JS thread and would freeze HTTP handling.
// Plain ESM JavaScript so it can be forked as-is from src/ (tests) and dist/ (built app).
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const dataDir = process.env.PGLITE_DATA_DIR;
const db = await PGlite.create(dataDir ? { dataDir } : {});
// maxConnections defaults to 1, which refuses a pool's extra connections; keep well above the pool size.
const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 100 });
await server.start();

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  try {
    await server.stop();
    await db.close();
  } finally {
    process.exit(0);
  }
};
process.on('disconnect', stop); // parent died or closed the channel
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('message', (m) => {
  if (m && m.type === 'stop') void stop();
});
process.send({ type: 'ready', url: `postgres://postgres:postgres@${server.getServerConn()}/postgres` });
