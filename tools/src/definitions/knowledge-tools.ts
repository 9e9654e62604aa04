import { defineTool, READ_ANNOTATIONS } from '../define-tool.ts';
import type { ToolDefinition } from '../types.ts';

/** The knowledge tools. */
export const knowledgeTools: readonly ToolDefinition[] = [
  defineTool({
    name: 'search_knowledge',
    title: 'Search the knowledge base',
    description:
      'Search the Higgs knowledge base (written by the Higgs team, not observed traffic) for guidance: how to '
      + 'remediate each detection type (PII egress, prompt injection, secrets, shadow AI, access, authentication, CVE), '
      + 'what EU AI Act, SOC 2 and NIST AI RMF controls ask for, and how each enforcement primitive behaves (inline '
      + 'block, redact, alert, namespace quarantine, session kill, proposals and approvals). Returns the nearest '
      + 'passages with an id and title to cite. Use it for "how do I fix", "what does the EU AI Act require", '
      + '"what happens when I quarantine". Optional `topic`: remediation, compliance or enforcement. Changes nothing.',
    annotations: READ_ANNOTATIONS,
    role: 'viewer',
    handler: (input, ctx) => ctx.services.searchKnowledge(ctx, input),
  }),
];
