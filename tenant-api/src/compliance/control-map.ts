/**
 * The tenant's control map: which obligations a finding touches, what to do
 * about it, and the block its row offers. Wording is ours; the control ids are
 * the frameworks' own.
 */
import type { Finding, Obligation, PiiType } from '@higgs/schema';
import type { z } from 'zod';
import type { SuggestedAction } from '@higgs/schema';

const GDPR_SECURITY: Obligation = {
  framework: 'GDPR', control: 'Art. 32',
  why: 'Personal data leaves the workload in prompts; the controller must show appropriate technical measures protect it in processing.',
};
const GDPR_TRANSFER: Obligation = {
  framework: 'GDPR', control: 'Art. 44',
  why: 'A hosted model provider may process the data outside the EEA; such a transfer needs a lawful basis and safeguards.',
};
const AI_ACT_DATA: Obligation = {
  framework: 'EU AI Act', control: 'Art. 10',
  why: 'Data reaching an AI system must be governed: known, minimised and fit for the purpose it is used for.',
};
const SOC2_TRANSMISSION: Obligation = {
  framework: 'SOC 2', control: 'CC6.7',
  why: 'Transmission of confidential information to external parties must be restricted to authorised flows.',
};
const NIST_MANAGE: Obligation = {
  framework: 'NIST AI RMF', control: 'MANAGE 2',
  why: 'Identified AI risks such as data leakage need a response plan that is applied and tracked.',
};

const PII_EXTRA: Partial<Record<PiiType, Obligation[]>> = {
  credit_card: [
    { framework: 'PCI DSS', control: 'Req. 3', why: 'Stored and processed cardholder data must be protected; a prompt log is storage outside the CDE.' },
    { framework: 'PCI DSS', control: 'Req. 4', why: 'Card numbers sent over open networks to a third party must be protected or not sent at all.' },
  ],
  ssn: [
    { framework: 'GLBA', control: 'Safeguards Rule', why: 'Customer identifiers such as SSNs must be safeguarded against unauthorised disclosure to service providers.' },
  ],
  secret: [
    { framework: 'SOC 2', control: 'CC6.1', why: 'Credentials sent to a model provider are disclosed outside logical access controls and must be rotated.' },
  ],
};

const INJECTION: Obligation[] = [
  { framework: 'OWASP LLM Top 10', control: 'LLM01', why: 'Prompt injection can make the model ignore its instructions and act for the attacker.' },
  { framework: 'EU AI Act', control: 'Art. 15', why: 'AI systems must be resilient to attempts by third parties to alter their use or behaviour.' },
  { framework: 'NIST AI RMF', control: 'MEASURE 2.7', why: 'Security and resilience of the AI system must be evaluated and the results acted on.' },
];

const SHADOW: Obligation[] = [
  { framework: 'EU AI Act', control: 'Art. 26', why: 'A deployer must know and control the AI systems it uses, with human oversight and logging.' },
  { framework: 'SOC 2', control: 'CC6.1', why: 'Systems processing company data must be inventoried and under logical access control.' },
  { framework: 'NIST AI RMF', control: 'GOVERN 1.6', why: 'An inventory of AI systems is kept, and unsanctioned use is found and resolved.' },
];

const AUTHENTICATION: Obligation[] = [
  { framework: 'SOC 2', control: 'CC6.1', why: 'Access to systems that process company data must require authentication.' },
  { framework: 'NIST SP 800-53', control: 'IA-2', why: 'Users and services reaching an MCP server or model endpoint must be identified and authenticated.' },
  { framework: 'NIST SP 800-53', control: 'AC-3', why: 'Without authentication the endpoint cannot enforce who may invoke its tools or model.' },
];

const ACCESS: Obligation[] = [
  { framework: 'SOC 2', control: 'CC6.6', why: 'Connections to external systems must be restricted to those that are authorised.' },
  { framework: 'EU AI Act', control: 'Art. 26', why: 'A deployer must use AI systems as instructed and keep them under control, including where data goes.' },
];

const PROCESSOR: Obligation[] = [
  { framework: 'GDPR', control: 'Art. 28', why: 'Personal data may only go to a processor bound by a data-processing agreement the controller approved.' },
  GDPR_TRANSFER,
  { framework: 'EU AI Act', control: 'Art. 10', why: 'Data reaching an AI system must be governed: known, minimised and fit for the purpose it is used for.' },
];

const CVE: Obligation[] = [
  { framework: 'SOC 2', control: 'CC7.1', why: 'Vulnerabilities in system components must be identified and remediated.' },
  { framework: 'EU AI Act', control: 'Art. 15', why: 'High-risk AI systems must be resilient against attempts to exploit their vulnerabilities.' },
];

/** The obligations a finding touches, most specific first. */
export function obligationsFor(finding: Finding): Obligation[] {
  switch (finding.category) {
    case 'pii': {
      const type = finding.evidence.piiType;
      const extra = type ? PII_EXTRA[type] ?? [] : [];
      return [...extra, GDPR_SECURITY, GDPR_TRANSFER, AI_ACT_DATA, SOC2_TRANSMISSION, NIST_MANAGE];
    }
    case 'injection':
      return INJECTION;
    case 'shadow':
      return SHADOW;
    case 'authentication':
      return AUTHENTICATION;
    case 'access':
      return ACCESS;
    case 'compliance':
      return PROCESSOR;
    case 'cve':
      return CVE;
  }
}

/** What a person should do about the finding, in words. */
export function remediationFor(finding: Finding): string {
  const e = finding.evidence;
  const where = `${e.namespace ?? 'unknown'}/${e.app ?? 'unknown'}`;
  switch (finding.category) {
    case 'pii':
      return `Stop ${e.piiType ?? 'personal data'} values leaving ${where}: block the type at the proxy for every app, `
        + 'then fix the application so it masks or drops the field before it builds the prompt. '
        + 'Review the listed sessions to learn which users and flows send it.';
    case 'injection':
      return `Calls from ${where} carry prompt-injection text (max score ${e.maxInjectionScore ?? 'n/a'}). Block prompts that `
        + 'score at or above the threshold, treat retrieved and tool-supplied text as untrusted data, and check what the '
        + 'model did in the listed sessions.';
    case 'shadow':
      return `${where} uses AI outside the governance baseline (provider ${e.host ?? 'unknown'}). Decide: sanction it `
        + 'by adding it to the baseline, or quarantine the namespace until its owner registers the use.';
    case 'access':
      return `${where} reached ${e.host ?? 'a host'}, which is not on the egress allowlist. Block the target, or add it to `
        + 'the allowlist if the use is approved; then review which principals reached it and why.';
    case 'authentication':
      return `${e.host ?? 'The endpoint'} accepts calls without credentials. Require a token or mTLS on it, and block `
        + 'calls to it until it does; review the listed sessions for use you do not recognise.';
    case 'compliance':
      return `Personal data (${e.piiType ?? 'several types'}) from ${where} reaches ${e.host ?? 'a provider'}, which is not a `
        + 'sanctioned data processor. Either sign a data-processing agreement and sanction the provider, or block '
        + 'personal data to it.';
    case 'cve':
      return e.cve
        ? `${e.cve.id} affects ${e.cve.component}: ${e.cve.summary}. Upgrade the component to a fixed version, or isolate the asset until it is.`
        : 'Upgrade the vulnerable component to a fixed version, or isolate the asset until it is.';
  }
}

type Suggested = z.infer<typeof SuggestedAction>;

/** The block a finding row offers; null when there is nothing precise to block. */
export function suggestedActionFor(finding: Finding): Suggested | null {
  const e = finding.evidence;
  switch (finding.category) {
    case 'pii':
      return e.piiType === null ? null : {
        label: 'Block PII egress', tool: 'block_from_finding', args: { findingId: finding.id },
        effect: `Blocks every LLM call whose prompt carries ${e.piiType}, from any app.`,
      };
    case 'injection':
      return {
        label: 'Block the injection vector', tool: 'block_from_finding', args: { findingId: finding.id },
        effect: 'Blocks every LLM call whose injection score is 50 or more, from any app.',
      };
    case 'access':
      return e.host === null ? null : {
        label: 'Block this target', tool: 'block_from_finding', args: { findingId: finding.id },
        effect: `Blocks every call to ${e.host}.`,
      };
    case 'authentication':
      return e.host === null ? null : {
        label: 'Block unauthenticated calls', tool: 'block_from_finding', args: { findingId: finding.id },
        effect: `Blocks calls to ${e.host}.`,
      };
    case 'shadow':
      return e.namespace === null ? null : {
        label: 'Quarantine namespace', tool: 'quarantine_namespace',
        args: { namespace: e.namespace, reason: `Shadow AI: ${finding.title}` },
        effect: `Refuses every AI-provider call from namespace ${e.namespace}.`,
      };
    default:
      return null;
  }
}
