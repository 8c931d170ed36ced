/**
 * Demo: payments go through a flaky payment gateway (a local HTTP server). A 503 is retried
 * through the retry topics with exponential back-off; a 402 (card declined) is not worth another
 * attempt and goes to the dead-letter topic at once; a payment whose gateway call keeps failing
 * ends there after its last attempt. Prints each attempt with its topic and due time, the
 * successes, and the dead letters with their headers.
 *
 * Run: `pnpm demo retry-topics` (it starts the local stack when needed).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaStreams, Serdes } from '@kafka-pattern/streams-core';
import {
  type ConsumedRecord,
  createPlatformaticClientFactory,
  recordsOf,
} from '@kafka-pattern/streams-core/client';
import { localStack } from '../src/support/local-stack.ts';
import { attemptOf, decodeBigInteger, retryTopics } from './topology.ts';

interface Payment {
  paymentId: string;
  amount: number;
}

interface Receipt {
  paymentId: string;
  authCode: string;
  attempt: number;
}

class GatewayUnavailable extends Error {
  override readonly name = 'GatewayUnavailable';
}
class CardDeclined extends Error {
  override readonly name = 'CardDeclined';
}

const { bootstrapServers } = localStack();
const clients = createPlatformaticClientFactory({ bootstrapServers, clientId: 'retry-topics-demo' });
const run = Date.now().toString(36);
const t0 = Date.now();
const clock = (ms: number) => `+${((ms - t0) / 1000).toFixed(3)}s`;

// How many times the gateway answers 503 before it takes each payment: 4 is more than the
// attempts allow. Amounts over 900 are declined (402) whatever the attempt.
const payments: Array<Payment & { unavailable: number }> = [
  { paymentId: 'pay-1', amount: 40, unavailable: 0 },
  { paymentId: 'pay-2', amount: 75, unavailable: 1 },
  { paymentId: 'pay-3', amount: 120, unavailable: 2 },
  { paymentId: 'pay-4', amount: 310, unavailable: 3 },
  { paymentId: 'pay-5', amount: 18, unavailable: 4 },
  { paymentId: 'pay-6', amount: 990, unavailable: 0 },
  { paymentId: 'pay-7', amount: 55, unavailable: 1 },
  { paymentId: 'pay-8', amount: 260, unavailable: 0 },
];
const unavailable = new Map(payments.map((p) => [p.paymentId, p.unavailable]));
const gatewayCalls = new Map<string, number>();
const gateway = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => {
    body += c.toString();
  });
  req.on('end', () => {
    const p = JSON.parse(body) as Payment;
    const n = (gatewayCalls.get(p.paymentId) ?? 0) + 1;
    gatewayCalls.set(p.paymentId, n);
    if (p.amount > 900) {
      res.writeHead(402).end('card declined');
    } else if (n <= (unavailable.get(p.paymentId) ?? 0)) {
      res.writeHead(503).end('try again later');
    } else {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ authCode: `A${n}${p.amount}` }));
    }
  });
});
await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/charge`;

const started: Array<{ paymentId: string; attempt: number; at: number; outcome?: string }> = [];
const main = `payments-${run}`;
const output = `payment-receipts-${run}`;
const { topology, topics } = retryTopics<string, Payment, Receipt>({
  topic: main,
  key: Serdes.String(),
  value: Serdes.JSON<Payment>(),
  output: { topic: output, value: Serdes.JSON<Receipt>() },
  attempts: 4,
  backoff: { delayMs: 500, multiplier: 2 },
  retryOn: (error) => !(error instanceof CardDeclined),
  handler: async (payment, paymentId, attempt) => {
    const call = { paymentId, attempt, at: Date.now(), outcome: '' };
    started.push(call);
    const res = await fetch(url, { method: 'POST', body: JSON.stringify(payment) });
    call.outcome = String(res.status);
    if (res.status === 402) throw new CardDeclined(`gateway declined ${paymentId}: ${await res.text()}`);
    if (res.status !== 200) throw new GatewayUnavailable(`gateway answered ${res.status} for ${paymentId}`);
    const { authCode } = (await res.json()) as { authCode: string };
    return { paymentId, authCode, attempt };
  },
});

const admin = clients.admin();
await admin.createTopics([
  { name: main, partitions: 3 },
  { name: output, partitions: 3 },
]);
const stateDir = mkdtempSync(join(tmpdir(), 'kp-retry-topics-'));
const app = new KafkaStreams(topology, {
  applicationId: `payments-${run}`,
  bootstrapServers,
  processingGuarantee: 'exactly_once_v2',
  stateDir,
});

async function readAll(
  topic: string,
  until: (n: number) => boolean,
  timeoutMs: number,
): Promise<ConsumedRecord[]> {
  const reader = clients.partitionReader({
    clientId: 'retry-topics-demo-reader',
    isolationLevel: 'read_committed',
    maxWaitMs: 200,
  });
  reader.assign([0, 1, 2].map((partition) => ({ topic, partition, from: 0n })));
  const out: ConsumedRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !until(out.length))
    for (const r of recordsOf(await reader.poll())) out.push(r);
  await reader.close();
  return out;
}

try {
  await app.start();
  await app.waitForRunning();
  console.log(
    `main topic ${topics.main}, retry topics ${topics.retries.join(', ')}, dead letters ${topics.dlt}`,
  );
  const producer = clients.producer({ clientId: 'retry-topics-demo-producer', idempotent: true });
  await producer.send(
    payments.map(({ paymentId, amount }) => ({
      topic: main,
      key: Buffer.from(paymentId),
      value: Buffer.from(JSON.stringify({ paymentId, amount })),
    })),
  );
  await producer.close();
  const successes = payments.filter((p) => p.amount <= 900 && p.unavailable < 4).length;
  const receipts = await readAll(output, (n) => n >= successes, 30_000);
  const dead = await readAll(topics.dlt, (n) => n >= payments.length - successes, 15_000);

  // The due time of each attempt after the first is in its retry record.
  const due = new Map<string, { topic: string; due: number }>();
  for (const t of topics.retries)
    for (const r of await readAll(t, () => false, 1_500))
      due.set(`${r.key}#${attemptOf(r.headers)}`, {
        topic: t,
        due: decodeBigInteger(r.headers.lastValue('retry_topic-backoff-timestamp'))!,
      });
  console.log('\nattempts (times from the start of the demo):');
  console.log('  payment  attempt  topic                           due        started    gateway');
  for (const c of started.sort((a, b) => a.paymentId.localeCompare(b.paymentId) || a.attempt - b.attempt)) {
    const d = due.get(`${c.paymentId}#${c.attempt}`);
    const topic = c.attempt === 1 ? topics.main : (d?.topic ?? '?');
    console.log(
      `  ${c.paymentId.padEnd(8)} ${String(c.attempt).padStart(7)}  ${topic.padEnd(31)} ${(d ? clock(d.due) : 'at once').padEnd(10)} ${clock(c.at).padEnd(10)} ${c.outcome}`,
    );
  }
  console.log('\nreceipts:');
  for (const r of receipts) {
    const receipt = JSON.parse(r.value!.toString()) as Receipt;
    console.log(`  ${receipt.paymentId}: auth ${receipt.authCode} on attempt ${receipt.attempt}`);
  }
  console.log('\ndead letters:');
  for (const r of dead) {
    const h = r.headers;
    console.log(
      `  ${r.key}: ${r.value} after ${h.values('retry_topic-attempts').length} attempt(s), retry_topic-attempts ${h
        .values('retry_topic-attempts')
        .map((b) => b.readInt32BE(0))
        .join(',')}`,
    );
    console.log(
      `    kafka_exception-fqcn ${h.getString('kafka_exception-fqcn')}, kafka_exception-message "${h.getString('kafka_exception-message')}"`,
    );
    console.log(
      `    kafka_original-topic ${h.getString('kafka_original-topic')}, partition ${h.get('kafka_original-partition')?.readInt32BE(0)}, offset ${h.get('kafka_original-offset')?.readBigInt64BE(0)}, kafka_dlt-original-consumer-group ${h.getString('kafka_dlt-original-consumer-group')}`,
    );
  }
  const early = started.filter((c) => {
    const d = due.get(`${c.paymentId}#${c.attempt}`);
    return d !== undefined && c.at < d.due;
  }).length;
  console.log(
    `\n${payments.length} payments, ${started.length} attempts, ${receipts.length} receipts, ${dead.length} dead letters, ${early} attempts started before their due time`,
  );
  if (receipts.length !== successes || dead.length !== payments.length - successes || early > 0)
    process.exitCode = 1;
  if (app.state === 'ERROR') {
    console.error(`the application stopped in ERROR: ${String(app.error)}`);
    process.exitCode = 1;
  }
} finally {
  await app.close();
  await admin.deleteTopics([main, output, ...app.internalTopicNames()]).catch(() => {});
  await admin.close();
  gateway.close();
  rmSync(stateDir, { recursive: true, force: true });
}
