import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/**
 * Deletes every JetStream stream a transport with `streamPrefix` made on the server at `url`
 * (its topics' streams and its lease stream are all named `<prefix>_…`): suites that make
 * topics under fresh namespaces call it when they are done, so a long-lived shared server
 * does not collect their streams run after run. Returns how many it deleted.
 */
export async function deleteNatsStreams(url: string, streamPrefix: string): Promise<number> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) if (name.startsWith(`${streamPrefix}_`)) names.push(name);
    // Listed first, deleted after: deleting while listing pages through the list skips names.
    await Promise.all(names.map((name) => jsm.streams.delete(name)));
    return names.length;
  } finally {
    await nc.close();
  }
}
