/**
 * Stopping and starting the local broker for the outage measurement, through the stack's own
 * script (`scripts/stack.sh down|up`), and watching its port from here: the broker is down once
 * its port refuses connections and back once it accepts them.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { sleep, stackBroker } from './broker.ts';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export function endpointOf(server: string): Endpoint {
  const at = server.lastIndexOf(':');
  return { host: server.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(server.slice(at + 1)) };
}

/** Whether something accepts a TCP connection at `e` within `timeoutMs`. */
export function accepts(e: Endpoint, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: e.host, port: e.port });
    const done = (open: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(open);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Polls the port every `everyMs` until it accepts (`open`) or refuses connections; resolves with
 * `performance.now()` of the first poll that saw it so, or rejects after `timeoutMs`.
 */
export async function waitForPort(
  e: Endpoint,
  open: boolean,
  timeoutMs: number,
  everyMs = 20,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const at = performance.now();
    if ((await accepts(e, 250)) === open) return at;
    if (performance.now() > deadline) {
      throw new Error(
        `${e.host}:${e.port} still ${open ? 'refuses' : 'accepts'} connections after ${timeoutMs} ms`,
      );
    }
    await sleep(everyMs);
  }
}

export interface StackResult {
  readonly code: number | null;
  readonly output: string;
}

/**
 * Runs `bash <script> <command>` with no file descriptor of this process but stdin/out/err: a
 * broker started from here must not inherit, say, the descriptor of a lock its caller holds
 * (the broker would hold that lock for as long as it runs).
 */
export function runStack(script: string, command: 'up' | 'down'): Promise<StackResult> {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
  const closeOthers =
    'for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-" 2>/dev/null; done; exec bash "$0" "$@"';
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', closeOthers, script, command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => {
      output += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      output += b.toString();
    });
    child.once('error', reject);
    // On exit rather than close: a process the script leaves running in the background may
    // hold its output open. What it wrote is in by then, or half a second later.
    child.once('exit', (code) => {
      const timer = setTimeout(() => resolve({ code, output }), 500);
      child.once('close', () => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  });
}

/** The root of the checkout whose `scripts/stack.sh` this is. */
export function stackRoot(script: string): string {
  return join(dirname(script), '..');
}

/** The pid of the broker the stack script runs, if one runs. */
export function brokerPid(script: string): number | undefined {
  return stackBroker(stackRoot(script))?.pid;
}

/** SIGKILLs the stack's broker (a crash rather than a controlled shutdown); false if none runs. */
export async function killBroker(script: string): Promise<boolean> {
  const pid = brokerPid(script);
  if (pid === undefined) return false;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return false;
  }
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await sleep(50);
  }
}
