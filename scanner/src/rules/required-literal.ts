/**
 * The longest run of plain ASCII characters every match of an RE2 pattern
 * must contain, or null when the pattern has none worth using (an
 * alternation, or no run of 3+). The rule engine runs a pattern only when its
 * literal is in the text (found by the Aho-Corasick pass), the prefilter RE2
 * itself uses. Conservative: anything it does not understand ends a run, so a
 * returned literal is always required; the literal is lower-cased because the
 * automaton folds case (a superset test, the pattern decides).
 *
 * @example requiredLiteral('(?i)ticket-\\d+ #\\d{3}') // 'ticket-'
 */
export function requiredLiteral(pattern: string): string | null {
  if (pattern.includes('|')) return null;
  let p = pattern;
  const flags = /^\(\?[imsU]+\)/.exec(p);
  if (flags) p = p.slice(flags[0].length);
  let best = '';
  let run = '';
  const endRun = (): void => {
    if (run.length > best.length) best = run;
    run = '';
  };
  let depth = 0;
  for (let i = 0; i < p.length; i++) {
    const ch = p[i]!;
    if (ch === '[') { // a class: skip it whole (a ']' right after '[' or '[^' is a member)
      endRun();
      let j = i + 1;
      if (p[j] === '^') j += 1;
      if (p[j] === ']') j += 1;
      while (j < p.length && p[j] !== ']') j += p[j] === '\\' ? 2 : 1;
      i = j;
      continue;
    }
    if (ch === '(') { depth += 1; endRun(); continue; }
    if (ch === ')') { depth -= 1; endRun(); continue; }
    if (depth > 0) {
      if (ch === '\\') i += 1;
      continue;
    }
    let lit: string | null = null;
    let width = 1;
    if (ch === '\\') {
      const e = p[i + 1];
      width = 2;
      // an escaped punctuation character is itself; a letter or digit escape is a class, assertion or back-reference
      if (e !== undefined && /[!-/:-@[-`{-~]/.test(e)) lit = e;
    } else if (/[\x20-\x7e]/.test(ch) && !/[.^$*+?{}]/.test(ch)) {
      lit = ch;
    }
    const q = p[i + width];
    if (lit === null) {
      endRun();
      i += width - 1;
      continue;
    }
    i += width - 1;
    if (q === '*' || q === '?' || (q === '{' && /^\{0[,}]/.test(p.slice(i + 1)))) {
      endRun(); // optional: not required
    } else if (q === '+' || q === '{') {
      run += lit; // required at least once, but what follows is not adjacent
      endRun();
    } else {
      run += lit;
    }
  }
  endRun();
  return best.length >= 3 ? best.toLowerCase() : null;
}
