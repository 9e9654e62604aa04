import { requireOrSkip } from '@higgs/evals/testing';
import { afterAll, beforeAll, describe } from 'vitest';
import { postgresMissing, startPostgres, type RunningServer } from '../../testing/servers.ts';
import { createSqlTelemetryStore } from '../sql-telemetry-store.ts';
import { migrate } from '../migrate.ts';
import { describeStateStoreContract } from '../state-store.contract.ts';
import { describeTelemetryStoreContract } from '../telemetry-store.contract.ts';
import { openPostgres } from './index.ts';

const available = requireOrSkip('SERVICES', postgresMissing());

/** One server for the file; each suite gets its own database on it. */
let server: RunningServer | undefined;
let databases = 0;
async function freshDatabase(): Promise<string> {
  if (!server) throw new Error('the PostgreSQL server is not running');
  databases += 1;
  const name = `higgs_${process.pid}_${databases}`;
  const admin = await openPostgres(server.url, { maxConnections: 1 });
  try {
    await admin.exec(`CREATE DATABASE ${name}`);
  } finally {
    await admin.close();
  }
  return server.url.replace(/\/postgres$/, `/${name}`);
}

describe.runIf(available)('PostgreSQL', () => {
  beforeAll(async () => {
    server = await startPostgres();
    console.info(`postgres ${server.version} at ${server.url}`);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  describeStateStoreContract('PostgreSQL', async () => {
    const db = await openPostgres(await freshDatabase());
    const { rows } = await db.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`);
    return { db, hasVector: rows.length > 0, close: () => db.close() };
  });

  describeTelemetryStoreContract('PostgreSQL (SQL tables)', async () => {
    const db = await openPostgres(await freshDatabase());
    await migrate(db);
    return { store: createSqlTelemetryStore(db), db, close: () => db.close() };
  });
});
