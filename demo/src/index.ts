export { DEMO_BASELINE, startStack } from './stack.ts';
export type { Stack, StackOptions } from './stack.ts';
export { startMockUpstreams } from './upstreams/index.ts';
export type { MockUpstreams, ReceivedRequest } from './upstreams/index.ts';
export { startMockMcpServer } from './upstreams/mcp.ts';
export type { MockMcpServer, ReceivedToolCall } from './upstreams/mcp.ts';
export { DEMO_WORKLOADS, callOnce, createSdkClients, runWorkloads, workloadsFileContent } from './workloads/index.ts';
export type { CallOutcome, DemoWorkload, SdkClients } from './workloads/index.ts';
