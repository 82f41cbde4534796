// urbackup-server-api 0.92.6 tasks, each from a fresh client (login included).
// usage: node urbackup-server-api_task.mjs URL USER lookup NAME | start-backup NAME
import { connect } from './_node_peer.mjs';

const server = await connect();
const [task, clientName] = process.argv.slice(4, 6);
if (task === 'lookup') {
  const found = await server.getStatus({ clientName });
  if (found.length !== 1) throw new Error('not found');
  console.log(JSON.stringify(found[0]));
} else if (task === 'start-backup') {
  // 0.92.6 throws "missing values" after a successful single-client start (its result check is
  // inverted); the requests it sent are what is counted here, so report and exit 0.
  try {
    console.log(JSON.stringify(await server.startIncrementalFileBackup({ clientName })));
  } catch (e) {
    console.log(JSON.stringify({ error: String(e.message) }));
  }
} else {
  throw new Error('unknown task ' + task);
}
