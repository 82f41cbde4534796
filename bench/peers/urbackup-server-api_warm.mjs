// urbackup-server-api 0.92.6 (npm), warm loop: `getStatus()` (all client statuses; the package
// has no typed layer) on an open session. Same stdin protocol as _warmloop.py.
// usage: node urbackup-server-api_warm.mjs URL USER [--n N]   (password in URBACKUP_PASSWORD)
import readline from 'node:readline';
import { connect } from './_node_peer.mjs';

const server = await connect();
await server.getStatus(); // logs in + warm-up (untimed)

async function batch(k) {
  const out = [];
  for (let i = 0; i < k; i++) {
    const t0 = process.hrtime.bigint();
    const clients = await server.getStatus();
    const t1 = process.hrtime.bigint();
    if (!Array.isArray(clients) || clients.length === 0) throw new Error('empty status');
    out.push(Number(t1 - t0) / 1000);
  }
  return out;
}

const nIdx = process.argv.indexOf('--n');
if (nIdx > 0) {
  const n = Number(process.argv[nIdx + 1]);
  const us = (await batch(n)).sort((a, b) => a - b);
  const median = n % 2 ? us[(n - 1) / 2] : (us[n / 2 - 1] + us[n / 2]) / 2;
  console.log(JSON.stringify({ median_us: median, n }));
} else {
  console.log(JSON.stringify({ ready: true }));
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    console.log(JSON.stringify({ us: await batch(Number(line)) }));
  }
}
