// The local S3 server: s3rver (installed into .tools/ by scripts/stack.sh), plus the one thing the
// AWS SDKs need that it lacks: bodies in aws-chunked encoding (the Java SDK's uploads over plain
// HTTP, signed chunk by chunk) are decoded to the bytes they carry before they are stored, so that
// an object holds what the client put, whatever SDK wrote it.
//
//   node scripts/s3/s3rver.mjs <s3rver package dir> <data dir> <host> <port> <bucket>
import { createRequire } from 'node:module';
import { Transform } from 'node:stream';

const [pkgDir, directory, address, port, bucket] = process.argv.slice(2);
const S3rver = createRequire(`${pkgDir}/package.json`)('./lib/s3rver.js');

/** aws-chunked: `<hex size>[;chunk-signature=...]\r\n<bytes>\r\n` ... a 0-size chunk, then trailers. */
class AwsChunkedDecoder extends Transform {
  #buf = Buffer.alloc(0);
  #left = -1; // bytes of the current chunk still to pass on; -1: reading a size line
  #done = false;
  _transform(chunk, _enc, cb) {
    this.#buf = Buffer.concat([this.#buf, chunk]);
    while (!this.#done) {
      if (this.#left < 0) {
        const eol = this.#buf.indexOf('\r\n');
        if (eol < 0) break;
        const line = this.#buf.subarray(0, eol).toString('latin1');
        this.#buf = this.#buf.subarray(eol + 2);
        if (line === '') continue; // the CRLF after a chunk's bytes
        const size = Number.parseInt(line.split(';')[0], 16);
        if (!Number.isFinite(size)) return cb(new Error(`bad aws-chunked size line: ${line.slice(0, 80)}`));
        if (size === 0)
          this.#done = true; // trailers follow; nothing more to store
        else this.#left = size;
      } else {
        if (this.#buf.length === 0) break;
        const n = Math.min(this.#left, this.#buf.length);
        this.push(this.#buf.subarray(0, n));
        this.#buf = this.#buf.subarray(n);
        this.#left -= n;
        if (this.#left === 0) this.#left = -1;
      }
    }
    cb();
  }
}

const server = new S3rver({
  address,
  port: Number(port),
  directory,
  silent: true,
  configureBuckets: [{ name: bucket, configs: [] }],
});
server.middleware.unshift(async (ctx, next) => {
  const sha = ctx.get('x-amz-content-sha256');
  const encoding = ctx.get('content-encoding');
  if (ctx.method === 'PUT' && (sha.startsWith('STREAMING-') || /aws-chunked/.test(encoding))) {
    const req = ctx.req;
    const decoded = req.pipe(new AwsChunkedDecoder());
    // The request stays as signed (headers and all) for the signature check; the object's metadata
    // gets the decoded length and loses the aws-chunked encoding when it is stored (below).
    Object.assign(decoded, { headers: req.headers, method: req.method, url: req.url, socket: req.socket });
    decoded.decodedLength = req.headers['x-amz-decoded-content-length'];
    ctx.req = ctx.request.req = decoded;
  }
  await next();
});
const putObject = server.store.putObject.bind(server.store);
server.store.putObject = (object) => {
  const length = object.content?.decodedLength;
  if (length !== undefined) {
    object.metadata['content-length'] = length;
    const rest = (object.metadata['content-encoding'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s && s !== 'aws-chunked');
    if (rest.length) object.metadata['content-encoding'] = rest.join(',');
    else delete object.metadata['content-encoding'];
  }
  return putObject(object);
};
await server.run();
console.log(`S3rver listening on ${address}:${port}`);
