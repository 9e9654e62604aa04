import NAME_LISTS from './names-data.json' with { type: 'json' };

/** Where a person's name sits in the text. */
export interface NameSpan {
  start: number;
  end: number;
}

/** The shape of `names-data.json`, written by `evals/src/detectors/build-names.ts`. */
export interface NameLists {
  attribution: string;
  first: string[];
  last: string[];
}

const FIRST = new Set((NAME_LISTS as NameLists).first);
const LAST = new Set((NAME_LISTS as NameLists).last);

// Frequent English words that are also given names or surnames ("Will", "May",
// "Grant", "Young"): never a name on their own evidence.
export const COMMON_WORDS = new Set(`a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has have having he her here hers
herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other
our ours out over own same she should so some such than that the their theirs them then there these they this those through to too
under until up very was we were what when where which while who whom why will with would you your yours yourself hello hi dear
thanks thank please regards best kind yes ok okay new old good great high low long short big small young grant will may june april
august march rose lily violet daisy ivy hope faith joy grace charity honor honour sunny summer autumn winter spring dawn eve
star art bill mark frank rich sue pat max ray page street road avenue lane way drive court park hill city town county state
north south east west center centre bank field wood woods stone brook banks lake river bay beach hall house king queen prince
duke earl lord baron major general chief price cash
guy buddy jack jean angel christian chance hunter paris london sydney victoria florida georgia virginia carolina dakota austin
dallas houston phoenix denver orlando jordan israel china india kenya chad asia america american english french german british
european african asian monday tuesday wednesday thursday friday saturday sunday january february july september october
november december today tomorrow yesterday morning evening night day week month year time mr mrs ms dr sir madam miss
customer client user admin support team manager director company office department service services account order payment
card number email phone address name first last full title note notes subject content question answer document documents
system assistant model summary summarise summarize retrieved section policy travel people handbook incident review
contact info personal website mobile desk fax home work brown green white black gray grey gold silver`.split(/\s+/));

// words that introduce a person: "my name is …", "speak to …", "Dear …", "signed …"
const NAME_CUE = /(?:\bname(?: is|:|\?(?: User:)?)|\bi am|\bi'm|\bthis is|\bspeak (?:to|with)|\bsigned|\bsincerely,?|\bregards,?|\bdear|\bhi|\bhello|\bsung by|\bwritten by|\bfeatures|\bunder|\bcontact|\bthanks,?|\bask for|\bmeet|\bmet)[ \t]{1,3}\n?$/i;
const HONORIFIC = /^(?:mr|mrs|ms|miss|mx|dr|prof|sir|madam|dame|rev)\.?$/i;
const NAME_SUFFIX = /^(?:md|jr|sr|phd|dds|esq|ii|iii|iv)\.?$/i;
const ORG_WORD = /^(?:inc|llc|ltd|corp|co|company|group|bank|university|college|school|orchestra|foundation|solutions|technologies|partners|associates|hospital|institute|gmbh|ag|sa|plc)\.?$/i;
const TOKEN = /[\p{L}][\p{L}'’-]*\.?/gu;

type Kind = 'name' | 'initial' | 'capitalised' | 'honorific' | 'suffix' | 'other';

interface Token { start: number; end: number; kind: Kind }

/**
 * Finds person names: runs of up to four tokens with at least one given name
 * or surname from the shipped lists, joined by capitalised unknown words,
 * initials ("J.", "S") and suffixes ("Jr.", "MD"); a capitalised word after an
 * honorific ("Dr. Okafor") counts too. Frequent English words never count as
 * names on their own, and a run followed by an organisation word ("… Inc.") is
 * not a person.
 */
export function detectNames(text: string): NameSpan[] {
  const tokens: Token[] = [];
  for (const m of text.matchAll(TOKEN)) tokens.push({ start: m.index, end: m.index + m[0].length, kind: classify(m[0]) });
  const spans: NameSpan[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const afterHonorific = t.kind === 'capitalised' && (
      (i > 0 && tokens[i - 1]!.kind === 'honorific' && adjacent(text, tokens[i - 1]!, t)) ||
      NAME_CUE.test(text.slice(Math.max(0, t.start - 32), t.start)) ||
      // "Julieta S Almeida", "Janka M. Szász": capitalised, a middle initial, capitalised
      (i + 2 < tokens.length && tokens[i + 1]!.kind === 'initial' && tokens[i + 2]!.kind !== 'other' && tokens[i + 2]!.kind !== 'initial' &&
        adjacent(text, t, tokens[i + 1]!) && adjacent(text, tokens[i + 1]!, tokens[i + 2]!)));
    if (t.kind !== 'name' && !afterHonorific) continue;
    // extend left over capitalised words / initials directly before the first known name
    let from = i;
    while (from > 0 && from > i - 2 && (tokens[from - 1]!.kind === 'capitalised' || tokens[from - 1]!.kind === 'initial') && adjacent(text, tokens[from - 1]!, tokens[from]!)) from--;
    let to = i;
    while (to + 1 < tokens.length && to - from < 3 && adjacent(text, tokens[to]!, tokens[to + 1]!) && continues(tokens[to + 1]!.kind)) to++;
    if (to + 1 < tokens.length && adjacent(text, tokens[to]!, tokens[to + 1]!) && ORG_WORD.test(text.slice(tokens[to + 1]!.start, tokens[to + 1]!.end))) {
      i = to;
      continue;
    }
    while (to > i && tokens[to]!.kind === 'initial') to--;
    const single = from === to;
    const word = text.slice(tokens[from]!.start, tokens[to]!.end);
    // a lone lower-case word is a name only when the text around it is lower case too ("lisa called")
    if (single && !afterHonorific && !/^\p{Lu}/u.test(word) && /\p{Lu}/u.test(text.slice(Math.max(0, t.start - 40), t.end + 40))) {
      continue;
    }
    spans.push({ start: tokens[from]!.start, end: tokens[to]!.end - (word.endsWith('.') && tokens[to]!.kind !== 'initial' && tokens[to]!.kind !== 'suffix' ? 1 : 0) });
    i = to;
  }
  return spans;
}

function continues(kind: Kind): boolean {
  return kind === 'name' || kind === 'initial' || kind === 'capitalised' || kind === 'suffix';
}

// one space (or a tab) between the tokens: a line break or punctuation ends a name
function adjacent(text: string, a: Token, b: Token): boolean {
  const gap = b.start - a.end;
  if (gap === 1) return text[a.end] === ' ' || text[a.end] === '\t';
  return gap === 0 && text[a.end - 1] === '.';
}

function classify(raw: string): Kind {
  const word = raw.endsWith('.') ? raw.slice(0, -1) : raw;
  if (HONORIFIC.test(raw)) return 'honorific';
  if (/^\p{Lu}$/u.test(word)) return 'initial';
  const lower = word.toLowerCase();
  if (NAME_SUFFIX.test(raw) && lower !== 'ii') return 'suffix';
  if (COMMON_WORDS.has(lower)) return 'other';
  if (FIRST.has(lower) || LAST.has(lower)) return 'name';
  if (/^\p{Lu}\p{Ll}/u.test(word)) return 'capitalised';
  return 'other';
}
