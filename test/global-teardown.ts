export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __EMBEDDED_PG__?: { stop(): Promise<void> } }).__EMBEDDED_PG__?.stop();
}
