/**
 * The network-flow part of the TelemetryStore contract, run inside
 * `describeTelemetryStoreContract` against every implementation (PGlite always,
 * ClickHouse and Postgres when their servers are present).
 */
import type { NetworkFlow } from '@higgs/schema';
import { expect, it } from 'vitest';
import { eventId } from '../testing/fixtures.ts';
import type { TelemetryHarness } from './telemetry-store.contract.ts';

let counter = 0;
const newTenant = () => `tf_${Date.now().toString(36)}_${(counter += 1)}`;

function flow(overrides: Partial<NetworkFlow> = {}): NetworkFlow {
  return {
    id: eventId(), scannerId: 'node-1', ts: '2026-11-20T10:00:00.000Z', pid: 42, comm: 'python', cgroupId: '1234',
    srcIp: '10.0.0.9', srcPort: 40000, dstIp: '104.18.1.1', dstPort: 443, dstHost: 'api.mistral.ai', provider: 'mistral',
    state: 'established', source: { ip: '10.0.0.9', namespace: 'research', app: 'notebook', mode: null }, ...overrides,
  };
}

export function flowsContractTests(harness: () => TelemetryHarness): void {
  async function write(tenantId: string, flows: NetworkFlow[]): Promise<Set<string>> {
    const h = harness();
    const staged = await h.db.transaction((tx) => h.store.stageFlows(tx, { tenantId, flows }));
    await staged.commit();
    return staged.ids;
  }

  it('stores each flow once per tenant: a re-sent flow and a repeated id are duplicates', async () => {
    const tenantId = newTenant();
    const f = flow();
    expect([...await write(tenantId, [f, f])]).toEqual([f.id]);
    expect((await write(tenantId, [f])).size).toBe(0);
    expect((await write(newTenant(), [f])).size).toBe(1);
  });

  it('summarises flows within [from, to) per workload × destination × port × provider', async () => {
    const tenantId = newTenant();
    const noName = { ip: '10.0.0.10', namespace: null, app: null, mode: null };
    await write(tenantId, [
      flow({ ts: '2026-11-20T09:00:00.000Z' }),
      flow({ ts: '2026-11-20T11:30:00.250Z' }),
      flow({ ts: '2026-11-20T10:00:00.000Z', dstHost: null, dstIp: '10.9.9.9', dstPort: 5432, provider: null, source: noName }),
      flow({ ts: '2026-11-19T23:59:59.999Z' }),
      flow({ ts: '2026-11-21T00:00:00.000Z' }),
    ]);
    await write(newTenant(), [flow({ ts: '2026-11-20T10:00:00.000Z' })]);
    const rows = await harness().store.summarizeFlows({ tenantId, from: '2026-11-20T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z' });
    expect(rows).toEqual([
      { namespace: null, app: null, destination: '10.9.9.9', dstPort: 5432, provider: null, count: 1,
        firstSeen: '2026-11-20T10:00:00.000Z', lastSeen: '2026-11-20T10:00:00.000Z' },
      { namespace: 'research', app: 'notebook', destination: 'api.mistral.ai', dstPort: 443, provider: 'mistral', count: 2,
        firstSeen: '2026-11-20T09:00:00.000Z', lastSeen: '2026-11-20T11:30:00.250Z' },
    ]);
    expect(await harness().store.summarizeFlows({ tenantId: `${tenantId}' OR 1=1 --`, from: '2026-11-20T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z' }))
      .toEqual([]);
  });
}
