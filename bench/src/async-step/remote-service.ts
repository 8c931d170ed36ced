/**
 * The remote service of the async-step scenario, in a process of its own: every POST is
 * answered after a fixed delay (5 ms by default) with a small JSON body that echoes the request's
 * order id, as a pricing or fraud-check service would. Prints `listening <port>` once ready.
 */
import { createServer } from 'node:http';

const delayMs = Number(process.argv[2] ?? 5);
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString();
    const id = /"id":(\d+)/.exec(body)?.[1] ?? '0';
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"id":${id},"approved":true}`);
    }, delayMs);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
