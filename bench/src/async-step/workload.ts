/**
 * The async-step scenario's work, shared by the framework pipe and its baseline: each record's
 * value is POSTed to a local HTTP service that answers after 5 ms, and the answer is the output
 * value. Calls of one key run one at a time in offset order; different keys overlap up to the
 * subject's concurrency per partition.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';

export const SERVICE_DELAY_MS = 5;

export interface RemoteService {
  readonly call: (value: string) => Promise<string>;
  close(): Promise<void>;
}

/** Starts the service in a child process and returns a keep-alive client for it. */
export async function startRemoteService(): Promise<RemoteService> {
  const child: ChildProcess = spawn(
    process.execPath,
    [new URL('./remote-service.ts', import.meta.url).pathname, String(SERVICE_DELAY_MS)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the remote service exited with code ${code}`)));
    child.stdout!.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const call = (value: string) =>
    new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/check',
          agent,
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks).toString()));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(value);
    });
  return {
    call,
    async close() {
      agent.destroy();
      child.kill('SIGTERM');
    },
  };
}
