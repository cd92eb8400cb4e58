/**
 * Static checks of the Dockerfile (no Docker engine needed): stage layout, the non-root exec-form
 * runtime, the lockfile-first install and no baked-in secrets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCommand } from '../../tools/start-command';
import { defined } from '../support/defined';

const ROOT = join(__dirname, '..', '..');

interface Instruction {
  readonly op: string;
  readonly args: string;
}
interface Stage {
  readonly name: string;
  readonly from: string;
  readonly instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions, joining `\` continuations and dropping comments. */
function parseDockerfile(text: string): { globalArgs: Instruction[]; stages: Stage[] } {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, op, args] = defined(/^(\S+)\s*(.*)$/.exec(line), `an instruction in "${line}"`);
    const instruction = { op: op.toUpperCase(), args };
    if (instruction.op === 'FROM') {
      const fromLine = defined(/^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(args), `FROM ${args}`);
      // An unnamed stage has no AS group: undefined at run time, whatever the match type says.
      const name = fromLine[2] as string | undefined;
      stages.push({ name: name ?? String(stages.length), from: fromLine[1], instructions: [] });
    } else if (stages.length === 0) {
      globalArgs.push(instruction);
    } else {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const { globalArgs, stages } = parseDockerfile(dockerfile);
const final = stages[stages.length - 1];
const stageByName = new Map(stages.map((s) => [s.name, s]));
const ops = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op);

/** Instructions a stage sees, including those of the stages it is built FROM. */
function lineage(stage: Stage): Instruction[] {
  const parent = stageByName.get(stage.from);
  return [...(parent ? lineage(parent) : []), ...stage.instructions];
}

describe('Dockerfile', () => {
  it('is multi-stage on a Node 24 base', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    const nodeImageArg = globalArgs.find((a) => a.op === 'ARG' && a.args.startsWith('NODE_IMAGE='));
    expect(nodeImageArg?.args).toMatch(/^NODE_IMAGE=node:24[-.@a-z0-9:]*$/);
    for (const stage of stages)
      expect(['${NODE_IMAGE}', ...stageByName.keys()]).toContain(stage.from);
  });

  it('copies package-lock.json before every npm ci', () => {
    const withCi = stages.filter((s) => ops(s, 'RUN').some((r) => /\bnpm ci\b/.test(r.args)));
    expect(withCi.length).toBeGreaterThanOrEqual(2);
    for (const stage of withCi) {
      const seen = lineage(stage);
      const ci = seen.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
      const lock = seen.findIndex((i) => i.op === 'COPY' && /\bpackage-lock\.json\b/.test(i.args));
      expect({ stage: stage.name, lockBeforeCi: lock >= 0 && lock < ci }).toEqual({
        stage: stage.name,
        lockBeforeCi: true,
      });
    }
  });

  it('final stage installs nothing and holds only production node_modules, dist/ and package.json', () => {
    expect(ops(final, 'RUN')).toEqual([]);
    const copies = ops(final, 'COPY').map((c) => c.args);
    const prodDeps = stages.find((s) =>
      ops(s, 'RUN').some((r) => /npm ci\b.*--omit=dev/.test(r.args)),
    );
    expect(copies).toEqual([
      `--from=${defined(prodDeps, 'a stage running npm ci --omit=dev').name} /app/node_modules ./node_modules`,
      expect.stringMatching(/^--from=\S+ \/app\/dist \.\/dist$/),
      'package.json ./',
    ]);
    // Never the whole build context.
    for (const args of copies) expect(args).not.toMatch(/^(--\S+\s+)*\.\s/);
  });

  it('final stage runs as the node user with NODE_ENV=production, exposes 3000 and has a node-based HEALTHCHECK', () => {
    const user = ops(final, 'USER').at(-1)?.args;
    expect(user === 'node' || (/^\d+$/.test(user ?? '') && Number(user) !== 0)).toBe(true);
    expect(ops(final, 'ENV').map((e) => e.args)).toContain('NODE_ENV=production');
    expect(ops(final, 'EXPOSE').map((e) => e.args)).toEqual(['3000']);
    const healthcheck = ops(final, 'HEALTHCHECK');
    expect(healthcheck).toHaveLength(1);
    const [, exec] = defined(
      /CMD (\[.*\])$/.exec(healthcheck[0].args),
      'an exec-form CMD in the HEALTHCHECK',
    );
    const argv = JSON.parse(exec) as string[];
    expect(argv.slice(0, 2)).toEqual(['node', '-e']);
    expect(argv[2]).toContain('/health/live');
    expect(argv[2]).toContain('process.env.PORT');
  });

  it('CMD is exec form and runs what `npm start` runs', () => {
    const cmd = ops(final, 'CMD');
    expect(cmd).toHaveLength(1);
    const argv = JSON.parse(cmd[0].args) as string[];
    const start = startCommand(ROOT);
    expect(argv).toEqual(['node', ...start.flags, start.script]);
    // npm start's environment assignments are the image's ENV.
    const env = ops(final, 'ENV').map((i) => i.args);
    expect(Object.keys(start.env).length).toBeGreaterThan(0);
    for (const [name, value] of Object.entries(start.env))
      expect(env).toContain(`${name}=${value}`);
    expect(ops(final, 'ENTRYPOINT')).toEqual([]);
  });

  it("the dist/ it runs holds a compile cache written as the runtime's user", () => {
    // Node files its compile cache under the user id: one written as root is never read by `node`.
    const distCopy = defined(
      ops(final, 'COPY').find((c) => / \/app\/dist \.\/dist$/.test(c.args)),
      'a COPY of dist/',
    );
    const [, from] = defined(/--from=(\S+)/.exec(distCopy.args), 'COPY --from');
    const instructions = lineage(defined(stageByName.get(from), `stage ${from}`));
    const warm = instructions.findLastIndex(
      (i) => i.op === 'RUN' && /^node dist\/tools\/warm-compile-cache\.js$/.test(i.args),
    );
    expect(warm).toBeGreaterThan(0);
    const user = instructions.slice(0, warm).findLast((i) => i.op === 'USER')?.args;
    expect(user).toBe(ops(final, 'USER').at(-1)?.args);
    // Nothing rebuilds dist/ after it (a new bundle would not match the cache).
    expect(instructions.slice(warm + 1).filter((i) => i.op === 'RUN')).toEqual([]);
  });

  it('no ENV or ARG sets a key, secret, password or token', () => {
    const all = [...globalArgs, ...stages.flatMap((s) => s.instructions)].filter(
      (i) => i.op === 'ENV' || i.op === 'ARG',
    );
    const offending = all.filter((i) =>
      /(key|secret|passw|token|credential)[A-Z_]*\s*[= ]\s*\S/i.test(i.args),
    );
    expect(offending).toEqual([]);
  });

  it('.dockerignore is an allowlist that keeps .env, .git and node_modules out of the context', () => {
    const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(lines[0]).toBe('*');
    const allowed = lines.filter((l) => l.startsWith('!'));
    expect(allowed.some((l) => /env|\.git|node_modules|dist|helm/.test(l))).toBe(false);
    for (const needed of [
      '!package.json',
      '!package-lock.json',
      '!tsconfig.build.json',
      '!nest-cli.json',
      '!src/',
      '!tools/',
    ]) {
      expect(allowed).toContain(needed);
    }
  });
});
