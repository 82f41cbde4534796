// Loads urbackup-server-api from the local npm prefix that bench/run.sh installs
// (BENCH_NODE_MODULES = that prefix's node_modules; default: target/bench/node/node_modules).
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules =
  process.env.BENCH_NODE_MODULES ||
  path.join(here, '..', '..', 'target', 'bench', 'node', 'node_modules');

export async function connect() {
  const mod = await import(
    pathToFileURL(path.join(modules, 'urbackup-server-api', 'index.js')).href
  );
  const [url, username] = process.argv.slice(2, 4);
  return new mod.UrbackupServer({ url, username, password: process.env.URBACKUP_PASSWORD });
}
