/**
 * The legitimate client of the 401-flood row: one keep-alive TCP connection sending
 * `GET /numbers/available` with a valid key at a fixed pace (one request every 1000 ÷ rate ms,
 * scheduled from the start, never two at once: a slot that passes while an answer is outstanding
 * is skipped), timing each answer from its write to its last byte. A raw socket, like the stampede client, so the figures are the server's rather than an
 * HTTP client library's.
 *
 * Run directly (`node dist/bench/legit-client.js '<LegitSpec JSON>'`) it is the worker and prints
 * one LegitResult JSON line; imported, `runLegitClient` spawns it pinned to the client core.
 */
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { answerOn, closeSockets, openSockets } from './burst-client';
import { distPath, runOnClientCore } from './servers';
import { summarize, type LatencySummary } from './stats';

export interface LegitSpec {
  /** The service's base URL (http://host:port). */
  readonly url: string;
  readonly clientKey: string;
  /** Requests per second. */
  readonly rate: number;
  readonly seconds: number;
}

export interface LegitResult {
  /** Requests the schedule called for, and requests sent (fewer when answers came slower than the pace: their slots are skipped). */
  readonly planned: number;
  readonly sent: number;
  readonly latencyMs: LatencySummary;
  readonly statusCounts: Partial<Record<string, number>>;
  /** How late each request went out against its slot: the client's own lateness (its timer, or waiting for core 1). */
  readonly lagMs: LatencySummary;
  /** Reconnections after the socket closed or an answer never came. */
  readonly reconnects: number;
  readonly clientCpuPercent: number;
}

export async function runLegitClient(spec: LegitSpec): Promise<LegitResult> {
  let out = '';
  const { code, stderr } = await runOnClientCore(
    process.execPath,
    [distPath('bench', 'legit-client.js'), JSON.stringify(spec)],
    spec.seconds,
    (chunk) => (out += chunk),
  );
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (code === 0 && line) return JSON.parse(line) as LegitResult;
  throw new Error(`legit client exited with ${code}: ${stderr.trim().slice(0, 500)}`);
}

async function worker(spec: LegitSpec): Promise<void> {
  const request = Buffer.from(
    `GET /numbers/available HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer ${spec.clientKey}\r\n\r\n`,
    'latin1',
  );
  const interval = 1000 / spec.rate;
  const planned = Math.floor(spec.seconds * spec.rate);
  const latencies: number[] = [];
  const lags: number[] = [];
  const statusCounts: Partial<Record<string, number>> = {};
  let reconnects = 0;
  let [socket]: Socket[] = await openSockets([spec.url], 1);
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const end = start + spec.seconds * 1000;
  // Slot i is due at start + i × interval. A slot that passes while an answer is outstanding is
  // skipped, not caught up on later: the pace never exceeds the rate, and sent < planned shows
  // how many requests slow answers cost.
  for (let i = 0; start + i * interval < end;) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const sentAt = performance.now();
    lags.push(sentAt - due);
    const answer = await answerOn(socket, request, sentAt);
    latencies.push(answer.ms);
    statusCounts[answer.status] = (statusCounts[answer.status] ?? 0) + 1;
    if (answer.status === 0) {
      closeSockets([socket]);
      [socket] = await openSockets([spec.url], 1);
      reconnects++;
    }
    i = Math.max(i + 1, Math.ceil((performance.now() - start) / interval));
  }
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = performance.now() - start;
  closeSockets([socket]);
  const result: LegitResult = {
    planned,
    sent: latencies.length,
    latencyMs: summarize(latencies),
    statusCounts,
    lagMs: summarize(lags),
    reconnects,
    clientCpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (require.main === module) {
  worker(JSON.parse(process.argv[2] ?? '{}') as LegitSpec).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
