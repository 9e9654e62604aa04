import { BpfError, BpfErrorCode } from './errors.ts';
import { EventStream } from './event-stream.ts';
import { decodeEvent, type CounterName } from './layout.ts';
import { readCounters } from './maps.ts';
import { objectPath, type LinkHandle, type NativeBinding, type ObjectHandle } from './native.ts';

/**
 * Flow tracing (src/flow.bpf.c): every TCP state change with pid, tid,
 * cgroup id, comm, addresses and ports. Not pinned on purpose: it observes
 * for the process that consumes it, and stops with it.
 */
export interface FlowTrace {
  /** The decoded events; one stream per trace, ended by close(). */
  readonly events: EventStream;
  counters(): Record<CounterName, bigint>;
  close(): void;
}

export function openFlowTrace(native: NativeBinding): FlowTrace {
  let obj: ObjectHandle | null = null;
  let link: LinkHandle | null = null;
  try {
    obj = native.openObject(objectPath('flow'));
    native.loadObject(obj);
  } catch (err) {
    if (obj) native.closeObject(obj);
    throw new BpfError(BpfErrorCode.LOAD_FAILED, `load flow.bpf.o: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const o = obj;
  const maps = Object.fromEntries(native.objectMaps(o).map((m) => [m.name, m.fd]));
  try {
    link = native.attach(o, 'higgs_flow', null);
  } catch (err) {
    native.closeObject(o);
    throw new BpfError(BpfErrorCode.ATTACH_FAILED, `attach higgs_flow: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const events = new EventStream(native, maps.events!, decodeEvent);
  let closed = false;
  return {
    events,
    counters: () => {
      if (closed) throw new BpfError(BpfErrorCode.CLOSED, 'flow trace is closed');
      return readCounters(native, maps.counters!);
    },
    close() {
      if (closed) return;
      closed = true;
      events.close();
      if (link) native.destroyLink(link);
      native.closeObject(o);
    },
  };
}
