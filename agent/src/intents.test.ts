import { describe, expect, it } from 'vitest';
import { categoryIn, classifyIntent, findingIdIn } from './intents.ts';

describe('classifyIntent', () => {
  it.each([
    ['why does this finding matter?', 'explain'],
    ['Explain this', 'explain'],
    ['What should I do?', 'remediate'],
    ['how do we fix this', 'remediate'],
    ['who triggered it?', 'who'],
    ['Which users were involved', 'who'],
    ['block it', 'block'],
    ['Summarise my shadow AI', 'shadow'],
    ['what did user alice@example.com send?', 'user_sent'],
    ['what changed since yesterday?', 'changes'],
    ['which apps leak PII to which providers?', 'pii_flows'],
    ['what does this cost?', 'cost'],
    ['how much do we spend per app', 'cost'],
    ['and the other one?', 'other'],
    ['kill session t-abc now', 'act'],
    ['quarantine the payments namespace', 'act'],
    ['what does the EU AI Act require for logging?', 'knowledge'],
    ['how does redaction work', 'knowledge'],
    ["what's going on?", 'summary'],
    ['give me the briefing', 'summary'],
    ['approve proposal prop-1', 'approve'],
    ['hello', 'help'],
  ])('%s → %s', (message, intent) => {
    expect(classifyIntent(message)).toBe(intent);
  });
});

describe('categoryIn', () => {
  it('names the category the person refers to', () => {
    expect(categoryIn('why does the PII finding matter?')).toBe('pii');
    expect(categoryIn('explain the prompt injection')).toBe('injection');
    expect(categoryIn('tell me about the shadow AI finding')).toBe('shadow');
    expect(categoryIn('why does this matter?')).toBeNull();
  });
});

describe('findingIdIn', () => {
  it('finds an id after the word finding, a prefixed uuid, or an id-shaped token', () => {
    expect(findingIdIn('explain finding f_12')).toBe('f_12');
    expect(findingIdIn('why does fnd-0b7e9a4c-1d2e-4f3a-9b8c-7d6e5f4a3b2c matter?')).toBe('fnd-0b7e9a4c-1d2e-4f3a-9b8c-7d6e5f4a3b2c');
    expect(findingIdIn('who triggered fnd_20250304_001')).toBe('fnd_20250304_001');
  });

  it('does not take model names or ordinary words for ids', () => {
    expect(findingIdIn('why does the finding for gpt-4o-mini matter?')).toBeNull();
    expect(findingIdIn('explain the finding on support-bot')).toBeNull();
  });
});
