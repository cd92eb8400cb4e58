import { join } from 'node:path';

/**
 * The shape of src/, from dependency-cruiser's reading of every import (type-only and dynamic
 * ones too; unit specs count). Each folder under src/ is one node (files directly in src/ are
 * "src", the composition root); an edge says some module in one folder imports one in another.
 */
interface FolderGraph {
  /** from folder → to folder → the module imports behind that edge (`a.ts → b.ts`). */
  readonly edges: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
  /** Imports of packages: the importing module and the package's name. */
  readonly packages: readonly { readonly from: string; readonly name: string }[];
}

const ROOT = join(__dirname, '..');

async function folderGraph(): Promise<FolderGraph> {
  const { cruise } = await import('dependency-cruiser');
  const { output } = await cruise(['src'], {
    baseDir: ROOT,
    tsPreCompilationDeps: true,
    // node_modules may be a symlink (git worktrees): keep its paths as written.
    preserveSymlinks: true,
    doNotFollow: { path: ['node_modules', '^test/', '^tools/'] },
  });
  if (typeof output === 'string')
    throw new Error('dependency-cruiser returned a report, not a result');

  const edges = new Map<string, Map<string, string[]>>();
  const packages: { from: string; name: string }[] = [];
  for (const module of output.modules) {
    const from = folderOf(module.source);
    if (from === undefined) continue;
    for (const dependency of module.dependencies) {
      if (dependency.dependencyTypes.some((type) => type.startsWith('npm'))) {
        packages.push({ from: module.source, name: packageName(dependency.module) });
        continue;
      }
      const to = folderOf(dependency.resolved);
      if (to === undefined || to === from) continue;
      const byTarget = edges.get(from) ?? new Map<string, string[]>();
      edges.set(from, byTarget);
      byTarget.set(to, [...(byTarget.get(to) ?? []), `${module.source} → ${dependency.resolved}`]);
    }
  }
  return { edges, packages };
}

/** `src/cache/refresh-lock.ts` → `cache`; `src/main.ts` → `src`; outside src/ → undefined. */
function folderOf(path: string): string | undefined {
  const parts = path.split('/');
  if (parts[0] !== 'src') return undefined;
  return parts.length > 2 ? parts[1] : 'src';
}

/** `@nestjs/swagger/dist/x` → `@nestjs/swagger`; `ioredis` → `ioredis`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return parts.slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
}

/** Pairs of folders that import each other, each with the imports that make it so. */
function mutualImports(graph: FolderGraph): string[] {
  const found: string[] = [];
  for (const [a, targets] of graph.edges) {
    for (const [b, forward] of targets) {
      const back = graph.edges.get(b)?.get(a);
      if (a < b && back) found.push(`${a} ⇄ ${b}: ${[...forward, ...back].join('; ')}`);
    }
  }
  return found.sort();
}

/** Strongly connected groups of more than one folder (Tarjan): loops of any length. */
function folderLoops(graph: FolderGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const loops: string[][] = [];
  const visit = (folder: string): void => {
    index.set(folder, index.size);
    low.set(folder, index.get(folder) ?? 0);
    stack.push(folder);
    for (const next of graph.edges.get(folder)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(folder, Math.min(low.get(folder) ?? 0, low.get(next) ?? 0));
      } else if (stack.includes(next)) {
        low.set(folder, Math.min(low.get(folder) ?? 0, index.get(next) ?? 0));
      }
    }
    if (low.get(folder) !== index.get(folder)) return;
    const group: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop();
      if (member !== undefined) group.push(member);
    } while (member !== undefined && member !== folder);
    if (group.length > 1) loops.push(group.sort());
  };
  for (const folder of graph.edges.keys()) if (!index.has(folder)) visit(folder);
  return loops;
}

/** Modules outside `home` that import `name`. */
function importersOutside(graph: FolderGraph, name: string, home: string): string[] {
  return graph.packages
    .filter((p) => p.name === name && !p.from.startsWith(`src/${home}/`))
    .map((p) => p.from);
}

describe('the folders of src/', () => {
  let graph: FolderGraph;

  beforeAll(async () => {
    graph = await folderGraph();
  });

  it('sees the imports (the cruise read the code)', () => {
    expect(graph.edges.get('cache')?.get('redis')).toEqual(
      expect.arrayContaining(['src/cache/refresh-lock.ts → src/redis/redis.connection.ts']),
    );
    expect(importersOutside(graph, 'ioredis', 'nowhere')).toContain(
      'src/redis/redis-client.factory.ts',
    );
  });

  it('never import each other: dependencies between folders go one way', () => {
    expect(mutualImports(graph)).toEqual([]);
  });

  it('form no longer loops either (a → b → c → a)', () => {
    expect(folderLoops(graph)).toEqual([]);
  });

  it('keep ioredis in src/redis and @nestjs/swagger in src/openapi', () => {
    expect(importersOutside(graph, 'ioredis', 'redis')).toEqual([]);
    expect(importersOutside(graph, '@nestjs/swagger', 'openapi')).toEqual([]);
  });
});
