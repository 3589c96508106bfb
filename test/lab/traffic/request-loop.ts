// The lab client's request loop, run inside the client's network namespace (traffic.ts starts it):
// one new HTTP request every --every ms, each on a new TCP connection (so each is a new flow the
// edge's ECMP hashes afresh), without waiting for the ones before: what the client sees is
// sampled at that interval however long a request takes. Runs until stdin closes, SIGTERM or
// --for ms; then prints every request as JSON on stdout (traffic.ts's LoopOutput).
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    every: { type: 'string', default: '20' },
    timeout: { type: 'string', default: '10000' },
    for: { type: 'string' },
  },
});
if (!values.url) {
  console.error('request-loop: --url is required');
  process.exit(2);
}
const url = values.url;
const every = Number(values.every);
const timeoutMs = Number(values.timeout);
const started = Date.now();
/** [start offset ms, duration ms, the body (trimmed) or "!" and what went wrong] */
const requests: [number, number, string][] = [];
let pending = 0;

function request(): void {
  const t0 = Date.now();
  const entry: [number, number, string] = [t0 - started, -1, ''];
  requests.push(entry);
  pending++;
  const done = (result: string): void => {
    if (entry[1] >= 0) return;
    entry[1] = Date.now() - t0;
    entry[2] = result;
    pending--;
  };
  const req = http.get(url, { agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.on('end', () => done(res.statusCode === 200 ? body.trim() : `!HTTP ${res.statusCode}`));
    res.on('error', (e: NodeJS.ErrnoException) => done(`!${e.code ?? e.message}`));
  });
  // A request with no answer within the timeout counts as failed, whatever TCP would retry later.
  const timer = setTimeout(() => {
    done('!timeout');
    req.destroy();
  }, timeoutMs);
  req.on('close', () => clearTimeout(timer));
  req.on('error', (e: NodeJS.ErrnoException) => done(`!${e.code ?? e.message}`));
}

const tick = setInterval(request, every);
request();
// Whoever started the loop waits for this line: the loop's start is its first request.
process.stderr.write('request-loop: started\n');

let finishing = false;
function finish(): void {
  if (finishing) return;
  finishing = true;
  clearInterval(tick);
  // Requests still in flight get their timeout to settle.
  const deadline = Date.now() + timeoutMs + 500;
  const wait = setInterval(() => {
    if (pending > 0 && Date.now() < deadline) return;
    clearInterval(wait);
    process.stdout.write(`${JSON.stringify({ started, every, timeoutMs, requests })}\n`, () => process.exit(0));
  }, 50);
}
process.stdin.resume();
process.stdin.on('end', finish);
process.on('SIGTERM', finish);
if (values.for) setTimeout(finish, Number(values.for));
