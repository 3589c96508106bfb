// The floor: what no SSH tool can avoid. Opens one connection to every host in parallel, runs
// `true` once on each, and exits. Usage: node bench/floor.mjs KEY_FILE USER HOST...
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';

const [keyFile, username, ...hosts] = process.argv.slice(2);
const privateKey = readFileSync(keyFile);

const runTrue = (host) =>
  new Promise((resolve, reject) => {
    const conn = new ssh2.Client();
    conn
      .on('ready', () =>
        conn.exec('true', (err, stream) => {
          if (err) return reject(err);
          stream
            .on(
              'close',
              (code) => (conn.end(), code === 0 ? resolve() : reject(new Error(`${host}: true exited ${code}`))),
            )
            .resume();
        }),
      )
      .on('error', reject)
      .connect({ host, username, privateKey });
    conn.setNoDelay(true); // Nagle's delays are avoidable, so they are no part of the floor
  });

await Promise.all(hosts.map(runTrue));
