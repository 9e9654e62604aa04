/** The inspection worker thread (inspect-offload.ts): inspects each request it is sent, in order. */
import { parentPort } from 'node:worker_threads';
import { inspectForDecisionAndRecord } from './inspect.ts';
import type { WorkerJob, WorkerReply } from './inspect-offload.ts';

const port = parentPort;
if (!port) throw new Error('inspect-worker.ts runs as a worker thread');
port.on('message', (job: WorkerJob) => {
  let reply: WorkerReply;
  try {
    reply = { id: job.id, result: inspectForDecisionAndRecord(job.request, job.salt, job.pass) };
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
