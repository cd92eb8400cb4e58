/**
 * The nginx peer: `proxy_cache` in front of the pre-serialized baseline, so its rows measure an
 * nginx cache hit on the same bytes. Optional: without an nginx binary the report says so.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { SERVER_CORE, spawnPinned, type Child } from './servers';

/** The nginx binary: BENCH_NGINX (a path, or `off` to skip the peer), else `command -v nginx`, else /usr/sbin/nginx. */
export function findNginx(): string | undefined {
  const configured = process.env.BENCH_NGINX;
  if (configured === 'off') return undefined;
  if (configured) return configured;
  try {
    // /usr/sbin is often not on a non-root user's PATH, and that is where Debian installs nginx.
    const path = execFileSync(
      'sh',
      ['-c', 'command -v nginx || { test -x /usr/sbin/nginx && echo /usr/sbin/nginx; }'],
      {
        encoding: 'utf8',
      },
    ).trim();
    return path || undefined;
  } catch {
    return undefined;
  }
}

/** What the report says when findNginx() found nothing. */
export function nginxAbsence(): string {
  return process.env.BENCH_NGINX === 'off' ? 'skipped (BENCH_NGINX=off)' : 'not installed';
}

/** `nginx/1.22.1`, from `nginx -v` (which prints on stderr). */
export function nginxVersion(binary: string): string {
  const result = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  // A binary that could not start leaves error set and no output at all.
  if (result.error) return 'unknown';
  return `${result.stdout}${result.stderr}`.trim().replace(/^nginx version:\s*/, '') || 'unknown';
}

function groupName(): string {
  try {
    return execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
  } catch {
    return userInfo().username;
  }
}

/**
 * Writes nginx.conf into `dir` (pid, logs, temp and cache paths all inside it) and starts nginx in
 * the foreground on the server core. Settings chosen to match the Node peers:
 * - keepalive_requests raised: nginx's default of 1000 would make autocannon reconnect mid-run;
 * - an access log line per request, buffered, like the service's one log line per request;
 * - `proxy_cache_use_stale updating` + background update: the same stale-while-revalidate the
 *   service does, so a run longer than the 30 s validity never waits on the upstream.
 */
export function startNginx(binary: string, dir: string, port: number, upstreamPort: number): Child {
  for (const sub of ['cache', 'client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
    mkdirSync(join(dir, sub), { recursive: true });
  // As root, nginx would switch its worker to `nobody`; name the current user so it runs as us.
  const user = process.getuid?.() === 0 ? `user ${userInfo().username} ${groupName()};` : '';
  const conf = `
${user}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log ${dir}/access.log combined buffer=64k flush=1s;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 65s;
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=bench:1m max_size=16m inactive=10m use_temp_path=off;
  upstream baseline {
    server 127.0.0.1:${upstreamPort};
    keepalive 8;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://baseline;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_valid 200 30s;
      proxy_cache_lock on;
      proxy_cache_use_stale updating;
      proxy_cache_background_update on;
      add_header X-Cache-Status $upstream_cache_status;
    }
  }
}
`;
  const confPath = join(dir, 'nginx.conf');
  writeFileSync(confPath, conf);
  return spawnPinned(
    'nginx',
    SERVER_CORE,
    binary,
    ['-p', dir, '-c', confPath, '-e', join(dir, 'error.log')],
    process.env,
    join(dir, 'stdout.log'),
  );
}
