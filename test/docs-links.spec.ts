import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = join(__dirname, '..');

/** The Markdown readers follow: the README, docs/, and the READMEs beside the code they describe. */
function markdownFiles(): string[] {
  const inDocs = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(ROOT, 'docs', name));
  const readmes = [
    'README.md',
    'bench/README.md',
    'deploy/README.md',
    'clients/typescript/README.md',
  ]
    .map((path) => join(ROOT, path))
    .filter((path) => existsSync(path));
  return [...readmes, ...inDocs];
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(path: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) anchors.add(slug(heading[1]));
  }
  return anchors;
}

/** Every relative link of a file: its target path (resolved) and its anchor, if any. */
function linksOf(path: string): { text: string; target: string; anchor: string | undefined }[] {
  const text = readFileSync(path, 'utf8').replace(/```[\s\S]*?```/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1])
    .filter((link) => !/^[a-z]+:/i.test(link))
    .map((link) => {
      const [file, anchor] = link.split('#');
      return { text: link, target: file ? resolve(dirname(path), file) : path, anchor };
    });
}

describe('links between the docs', () => {
  it.each(markdownFiles().map((path) => [relative(ROOT, path), path]))(
    '%s: every relative link names a file that exists, and a heading that exists in it',
    (_, path) => {
      const broken = linksOf(path)
        .filter(
          ({ target, anchor }) =>
            !existsSync(target) ||
            (anchor !== undefined && target.endsWith('.md') && !anchorsOf(target).has(anchor)),
        )
        .map(({ text }) => text);
      expect(broken).toEqual([]);
    },
  );
});
