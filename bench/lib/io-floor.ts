import { ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import type { FloorReply, FloorRequest } from './io-floor-protocol';
import { runPool } from './pool';

/**
 * What each kind of I/O a purchase is made of costs a process on this machine with no framework around it
 * (io-floor-subject.ts), in CPU ms per operation: a JSON request answered by a bare `node:http` server, a JSON
 * request sent through undici on a keep-alive pool, and a prepared single-row `INSERT … RETURNING *`. Its peers
 * (the bench sending and answering, PostgreSQL) are other processes, as the app's are.
 */
export interface IoFloor {
  answeredMs: number;
  sentMs: number;
  statementMs: number;
}

/** The I/O of one operation: HTTP requests it answers and sends, SQL statements it runs. */
export interface IoCounts {
  answered: number;
  sent: number;
  statements: number;
}

/** A purchase's I/O: two API requests and Adyen's three notifications answered; the Cleeng order, Adyen's authorise
 * and capture and the Cleeng report sent; its statements as measured. */
export function purchaseIo(statements: number, notifications: boolean): IoCounts {
  return { answered: notifications ? 5 : 2, sent: 4, statements };
}

/** CPU ms that the operation's I/O alone would cost at the floor. */
export function floorMs(floor: IoFloor, io: IoCounts): number {
  return io.answered * floor.answeredMs + io.sent * floor.sentMs + io.statements * floor.statementMs;
}

export interface IoFloorOptions {
  databaseUrl: string;
  /** operations of each kind measured (as many again first, unmeasured, for the JIT) */
  count: number;
  concurrency: number;
}

/** A request without its id, member by member of the union. */
type Unsent<T> = T extends unknown ? Omit<T, 'id'> : never;

class Subject {
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: FloorReply) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.on('message', (reply: FloorReply) => {
      this.waiting.get(reply.id)?.(reply);
      this.waiting.delete(reply.id);
    });
  }

  static async start(): Promise<Subject> {
    const script = join(__dirname, 'io-floor-subject.js');
    if (!existsSync(script)) {
      throw new Error(`${script} is missing: build first (npm run build:dev)`);
    }
    const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const port = await new Promise<number>((ok, fail) => {
      child.once('message', (reply: FloorReply) =>
        reply.type === 'ready' ? ok(reply.port) : fail(new Error('io floor: unexpected first message')),
      );
      child.once('exit', (code) => fail(new Error(`io floor: the subject exited (${code})`)));
    });
    return new Subject(child, port);
  }

  /** Runs the request; the subject's CPU µs when it answered. */
  async ask(message: Unsent<FloorRequest>): Promise<number> {
    const id = (this.nextId += 1);
    const reply = await new Promise<FloorReply>((ok) => {
      this.waiting.set(id, ok);
      this.child.send({ ...message, id });
    });
    if (reply.type === 'error') {
      throw new Error(`io floor: ${reply.error}`);
    }
    if (reply.type !== 'done') {
      throw new Error('io floor: unexpected reply');
    }
    if (reply.failed > 0) {
      throw new Error(`io floor: ${reply.failed} operations failed`);
    }
    return reply.cpuUs;
  }

  stop(): void {
    this.child.disconnect();
  }
}

/** The bench's side of outgoing requests: a peer that answers at once, like an emulator. */
async function startPeer(): Promise<Server> {
  const answer = JSON.stringify({ pspReference: 'FLOOR00000000000', resultCode: 'Authorised' });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return server;
}

async function sendRequests(port: number, count: number, concurrency: number): Promise<void> {
  const agent = new Agent({ connections: concurrency });
  const body = JSON.stringify({
    orderId: '5e088109-0000-4000-8000-000000000000',
    amount: { value: 999, currency: 'USD' },
  });
  try {
    const { failures } = await runPool({
      total: count,
      concurrency,
      task: async () => {
        const res = await request(`http://127.0.0.1:${port}/v1/payments`, {
          dispatcher: agent,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await res.body.text();
      },
    });
    if (failures > 0) {
      throw new Error(`io floor: ${failures} requests to the subject failed`);
    }
  } finally {
    await agent.close();
  }
}

/** Each kind warmed with `count` operations, then `count` measured, one kind at a time. */
export async function measureIoFloor(options: IoFloorOptions): Promise<IoFloor> {
  const { databaseUrl, count, concurrency } = options;
  const subject = await Subject.start();
  const peer = await startPeer();
  const peerUrl = `http://127.0.0.1:${(peer.address() as AddressInfo).port}/v71/payments`;
  const perOperation = async (run: () => Promise<number | void>): Promise<number> => {
    await run();
    const before = await subject.ask({ type: 'cpu' });
    const after = (await run()) ?? (await subject.ask({ type: 'cpu' }));
    return (after - before) / 1000 / count;
  };
  try {
    return {
      answeredMs: await perOperation(() => sendRequests(subject.port, count, concurrency)),
      sentMs: await perOperation(() => subject.ask({ type: 'outgoing', url: peerUrl, count, concurrency })),
      statementMs: await perOperation(() =>
        subject.ask({ type: 'statements', databaseUrl, count, concurrency }),
      ),
    };
  } finally {
    subject.stop();
    await new Promise<void>((ok) => peer.close(() => ok()));
  }
}
