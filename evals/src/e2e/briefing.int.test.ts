/**
 * The Briefing in a real browser (Debian's Chromium through playwright-core)
 * against the real stack with live simulated traffic: findings appear, the chat
 * strip explains a PII finding and proposes the block, Approve creates the
 * rule, and a row's own button creates another.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startStack, type Stack } from '@higgs/demo';
import { ListRulesOutput } from '@higgs/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumMissing, requireOrSkip } from '../testing/require.ts';

const run = requireOrSkip('BROWSER', chromiumMissing());
// Screenshots land here so a person (and CI artifacts) can look at them.
const SHOTS = join(import.meta.dirname, '..', '..', '..', '.test-artifacts');

describe.skipIf(!run)('Briefing in Chromium', () => {
  let dir: string;
  let stack: Stack;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'higgs-ui-'));
    await mkdir(SHOTS, { recursive: true });
    stack = await startStack({ dataDir: dir, tenantDataDir: 'memory://', traffic: true, trafficIntervalMs: 150 });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function rules() {
    const res = await fetch(`${stack.tenantUrl}/api/tools/list_rules`, {
      method: 'POST', headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' }, body: '{}',
    });
    return ListRulesOutput.parse(await res.json()).rules;
  }

  it('shows live findings, explains one, and turns approval and the row button into rules', async () => {
    await page.goto(stack.briefingUrl);
    // the token leaves the address bar once read
    await expect.poll(() => page.url()).not.toContain('token=');

    const piiRow = page.locator('[data-testid="finding-row"][data-category="pii"]').first();
    await piiRow.waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="finding-row"][data-category="injection"]').first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(SHOTS, 'briefing.png'), fullPage: true });
    expect(Number(await page.getByTestId('count-openFindings').textContent())).toBeGreaterThan(0);
    await expect.poll(() => piiRow.getByTestId('finding-action').textContent()).toContain('Block PII egress');

    // Ask the agent about the selected PII finding.
    await piiRow.click();
    await page.getByTestId('chat-input').fill('why does this finding matter?');
    await page.getByTestId('chat-send').click();
    const answer = page.getByTestId('chat-answer').last();
    await expect.poll(() => answer.textContent(), { timeout: 15_000 }).toMatch(/openai|anthropic/i);
    const proposal = page.getByTestId('proposal').first();
    await proposal.waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(SHOTS, 'briefing-proposal.png'), fullPage: true });
    expect(await rules()).toHaveLength(0);

    await proposal.getByTestId('approve').click();
    await expect.poll(async () => (await rules()).length, { timeout: 10_000 }).toBe(1);
    expect((await rules())[0]!.match.piiTypes?.length).toBe(1);

    // The injection row's own button, after its inline confirm step.
    const injRow = page.locator('[data-testid="finding-row"][data-category="injection"]').first();
    await injRow.getByTestId('finding-action').click();
    await injRow.getByTestId('finding-action-confirm').click();
    await expect.poll(async () => (await rules()).some((r) => r.match.injectionScoreGte === 50), { timeout: 10_000 }).toBe(true);
    await page.getByTestId('rule').nth(1).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(SHOTS, 'briefing-rules.png'), fullPage: true });
  });
});
