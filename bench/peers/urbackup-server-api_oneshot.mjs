// urbackup-server-api 0.92.6 one-shot: log in, fetch all client statuses, print JSON.
// usage: node urbackup-server-api_oneshot.mjs URL USER   (password in URBACKUP_PASSWORD)
import { connect } from './_node_peer.mjs';

const server = await connect();
process.stdout.write(JSON.stringify(await server.getStatus()) + '\n');
