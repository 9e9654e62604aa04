/**
 * Markdown documents → passages to embed. Each document opens with a small
 * front matter (`title`, `topic`); its `##` sections are split by LangChain's
 * markdown-aware recursive splitter so a passage stays within one section and
 * breaks at paragraph, then sentence, boundaries.
 */
import { RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
import { KnowledgeTopic } from '@higgs/schema';
import { TenantError } from '../errors.ts';

export interface KnowledgeDocument {
  /** file name without `.md`: the stable part of every chunk id */
  name: string;
  title: string;
  topic: KnowledgeTopic;
  body: string;
}

export interface Chunk {
  /** `<document>#<ordinal>`, ordinal from 1 in document order */
  id: string;
  document: string;
  /** `<document title> › <section heading>` */
  title: string;
  topic: KnowledgeTopic;
  text: string;
}

/** Characters per passage: about 150 words, a paragraph or two — enough to cite on its own. */
export const CHUNK_SIZE = 900;
/** Overlap between neighbouring passages of one section, so a sentence cut at a boundary is in both. */
export const CHUNK_OVERLAP = 120;

const FRONT_MATTER = /^---\n([\s\S]*?)\n---\n/;

/** Parses a knowledge document; a missing or bad front matter is a CONFIG_INVALID error naming the file. */
export function parseDocument(name: string, source: string): KnowledgeDocument {
  const fm = FRONT_MATTER.exec(source);
  const fields = new Map((fm?.[1] ?? '').split('\n').map((line) => {
    const at = line.indexOf(':');
    return [line.slice(0, at).trim(), line.slice(at + 1).trim()] as const;
  }));
  const topic = KnowledgeTopic.safeParse(fields.get('topic'));
  const title = fields.get('title');
  if (!fm || !title || !topic.success) {
    throw new TenantError('CONFIG_INVALID', `knowledge document ${name} needs front matter with a title and a topic (${KnowledgeTopic.options.join(', ')})`);
  }
  return { name, title, topic: topic.data, body: source.slice(fm[0].length) };
}

/** Splits a document into passages, section by section. */
export async function chunkDocument(doc: KnowledgeDocument): Promise<Chunk[]> {
  const splitter = RecursiveCharacterTextSplitter.fromLanguage('markdown', { chunkSize: CHUNK_SIZE, chunkOverlap: CHUNK_OVERLAP });
  const chunks: Chunk[] = [];
  for (const section of sections(doc.body)) {
    for (const text of await splitter.splitText(section.text)) {
      const trimmed = text.trim();
      if (trimmed.length === 0) continue;
      chunks.push({
        id: `${doc.name}#${chunks.length + 1}`,
        document: doc.name,
        title: section.heading === null ? doc.title : `${doc.title} › ${section.heading}`,
        topic: doc.topic,
        text: trimmed,
      });
    }
  }
  return chunks;
}

/** The text under each `##` heading (and the lead before the first), headings themselves left out. */
function sections(body: string): Array<{ heading: string | null; text: string }> {
  const out: Array<{ heading: string | null; text: string }> = [];
  let heading: string | null = null;
  let lines: string[] = [];
  const flush = () => {
    const text = lines.join('\n').trim();
    if (text.length > 0) out.push({ heading, text });
  };
  for (const line of body.split('\n')) {
    const h2 = /^##\s+(.+)$/.exec(line);
    if (h2) {
      flush();
      heading = h2[1]!.trim();
      lines = [];
    } else if (!/^#\s/.test(line)) {
      lines.push(line);
    }
  }
  flush();
  return out;
}
