import { openTestDb } from '../testing/fixtures.ts';
import { createSqlTelemetryStore } from './sql-telemetry-store.ts';
import { describeTelemetryStoreContract } from './telemetry-store.contract.ts';

describeTelemetryStoreContract('PGlite', async () => {
  const db = await openTestDb();
  return { store: createSqlTelemetryStore(db), db, close: () => db.close() };
});
