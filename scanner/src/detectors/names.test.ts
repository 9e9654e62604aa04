import { describe, expect, it } from 'vitest';
import { detectNames } from './names.ts';

const names = (text: string) => detectNames(text).map((s) => text.slice(s.start, s.end));

describe('detectNames', () => {
  it('finds a known given name with the capitalised words around it, and initials and suffixes', () => {
    expect(names('Please call Maria Okonkwo-Bell tomorrow.')).toEqual(['Maria Okonkwo-Bell']);
    expect(names('Signed: John Q. Public Jr.')).toEqual(['John Q. Public Jr.']);
  });

  it('takes an unknown capitalised word after an honorific or a cue, not otherwise', () => {
    expect(names('Ask Dr. Zyglewicz about it')).toEqual(['Zyglewicz']);
    expect(names('my name is Quionia and I need help')).toEqual(['Quionia']);
    expect(names('"we are glad," says Gerste.')).toEqual(['Gerste']);
    expect(names('The Quionia project ships today')).toEqual([]);
  });

  it('extends a list with one known given name to its other items', () => {
    expect(names('They had 4: Gaetane, Hannah, Derek and Aksel.')).toEqual(['Gaetane', 'Hannah', 'Derek', 'Aksel']);
    expect(names('We sell Apples, Pears and Plums.')).toEqual([]);
  });

  it('marks a word found in a name wherever it recurs', () => {
    expect(names('Maria Zyglewicz wrote first. Later Zyglewicz called back.')).toEqual(['Maria Zyglewicz', 'Zyglewicz']);
  });

  it('leaves out organisations, host names and frequent words', () => {
    expect(names('Maria Smith Ltd. is a supplier')).toEqual([]);
    expect(names('see http://www.MariaSmith.de/ now')).toEqual([]);
    expect(names('Will you grant me that, Young?')).toEqual([]);
  });

  it('allows a lone lower-case name only in lower-case text', () => {
    expect(names('lisa called about the invoice')).toEqual(['lisa']);
    expect(names('The lisa format is Odd')).toEqual([]);
  });
});
