import { describeStateStoreContract } from './state-store.contract.ts';
import { openPglite } from './sql-client.ts';

describeStateStoreContract('PGlite', async () => {
  const db = await openPglite('memory://');
  return { db, hasVector: true, close: () => db.close() };
});
