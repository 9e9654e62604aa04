/**
 * Real ClickHouse and PostgreSQL servers for the store contract suites: each
 * started on a temporary directory and a free loopback port, stopped after.
 * Missing binaries mean null (the suite skips via requireOrSkip('SERVICES')).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CLICKHOUSE_BIN = '/usr/sbin/clickhouse-server';
export const POSTGRES_BIN_DIR = '/usr/lib/postgresql/15/bin';

export interface RunningServer {
  url: string;
  /** e.g. `18.16.1` */
  version: string;
  stop(): Promise<void>;
}

export function clickhouseMissing(): string | null {
  return existsSync(CLICKHOUSE_BIN) ? null : `${CLICKHOUSE_BIN} not found (apt-get install clickhouse-server)`;
}

export function postgresMissing(): string | null {
  return existsSync(join(POSTGRES_BIN_DIR, 'postgres')) ? null : `${POSTGRES_BIN_DIR}/postgres not found (apt-get install postgresql)`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitFor(what: string, child: ChildProcess, ready: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    if (await ready().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms`);
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export async function startClickhouse(): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), 'higgs-ch-'));
  const [httpPort, tcpPort] = [await freePort(), await freePort()];
  await writeFile(join(dir, 'users.xml'), `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`);
  await writeFile(join(dir, 'config.xml'), `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/error.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <mark_cache_size>5368709120</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
</yandex>
`);
  const child = spawn(CLICKHOUSE_BIN, [`--config-file=${dir}/config.xml`], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${httpPort}`;
  try {
    await waitFor('clickhouse-server', child, async () => (await fetch(`${url}/ping`)).ok);
    const version = (await (await fetch(`${url}/?query=${encodeURIComponent('SELECT version()')}`)).text()).trim();
    return {
      url, version,
      async stop() {
        await stopChild(child);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Postgres refuses to run as root: as root, initdb and postgres run as the
 * `postgres` user (spawned with its uid/gid, so this process still reaps them)
 * on a directory it owns.
 */
export async function startPostgres(): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), 'higgs-pg-'));
  const owner = process.getuid?.() === 0 ? postgresUser() : {};
  if (owner.uid !== undefined && owner.gid !== undefined) await chown(dir, owner.uid, owner.gid);
  await chmod(dir, 0o700);
  const data = join(dir, 'data');
  const init = spawnSync(join(POSTGRES_BIN_DIR, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
    { encoding: 'utf8', cwd: dir, ...owner });
  if (init.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr || init.error?.message}`);
  }
  const port = await freePort();
  const child = spawn(join(POSTGRES_BIN_DIR, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1',
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'], { stdio: 'ignore', cwd: dir, ...owner });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const { default: pg } = await import('pg');
  let version = '';
  // SIGINT is Postgres' fast shutdown: it does not wait for clients to leave
  const stop = async () => {
    await stopChild(child, 'SIGINT');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('postgres', child, async () => {
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        version = String((await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]?.v ?? '');
        return true;
      } finally {
        await client.end().catch(() => undefined);
      }
    });
    return { url, version, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function postgresUser(): { uid?: number; gid?: number } {
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) throw new Error('running as root needs a `postgres` user to run PostgreSQL (apt-get install postgresql creates it)');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
