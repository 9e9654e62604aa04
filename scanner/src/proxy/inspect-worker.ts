/** The inspection worker thread (inspect-offload.ts): inspects each request it is sent, in order. */
import { parentPort } from 'node:worker_threads';
import { inspectForDecisionAndRecord, type Inspected } from './inspect.ts';
import type { WorkerJob, WorkerReply } from './inspect-offload.ts';

/**
 * The spans stay here: they only feed the full pass, which ran here too, and a large prompt's
 * spans (tens of thousands of objects) would cost the event loop more to receive than the masks.
 */
const withoutSpans = (i: Inspected): Inspected => ({ ...i, spans: { system: null, messages: [] } });

const port = parentPort;
if (!port) throw new Error('inspect-worker.ts runs as a worker thread');
port.on('message', (job: WorkerJob) => {
  let reply: WorkerReply;
  try {
    const r = inspectForDecisionAndRecord(job.request, job.salt, job.pass);
    // a message copies every string it holds, and a large prompt's text would cross twice: the full pass's
    // record is its decision (one object, sent once), a structured pass's record carries the decision's prompt
    // text, which inspect-offload.ts puts back
    const decided = withoutSpans(r.decided);
    const recorded = r.recorded === r.decided ? decided : { ...withoutSpans(r.recorded), promptText: '' };
    reply = { id: job.id, result: { decided, recorded, decidedUs: r.decidedUs } };
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
