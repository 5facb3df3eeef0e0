import { ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { TEST_JWT_SECRET } from './auth-client';
import { messagingEnv } from './fake-twilio-app';
import { TEST_HASH_SECRET } from './test-app';
import { TEST_REDIS_URL, serviceBuildDirectory } from './test-environment';

/**
 * The compiled service as a real process (`node <build>/src/main.js`), the way an operator runs
 * it: for tests about what only a process shows (boot refusals, signals, several instances).
 */

/** A boot on a loaded machine; PGlite's first open alone takes seconds (and ~850 MB). */
export const BOOT_TIMEOUT_MS = 30_000;

export interface ServiceProcess {
  child: ChildProcess;
  /** http://127.0.0.1:<PORT>; meaningful when PORT was given. */
  baseUrl: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

export interface StartOptions {
  /** The process's limit of open files (`ulimit -n`), to see it run out of descriptors. */
  descriptorLimit?: number;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const address = server.address();
  await new Promise((closed) => server.close(closed));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}

/**
 * The processes and scratch directories one test file starts. Call `cleanUp()` in afterAll: it
 * kills whatever still runs (also after a failed test) and removes the directories.
 */
export class ServiceProcesses {
  private readonly started: ServiceProcess[] = [];
  private readonly directories: string[] = [];

  temporaryDirectory(label: string): string {
    const directory = mkdtempSync(join(tmpdir(), `sms-service-${label}-`));
    this.directories.push(directory);
    return directory;
  }

  /**
   * A new DATA_DIR holding an embedded database the app has already created and migrated, for
   * tests about what happens after the first boot (the first boot itself is boot.e2e-spec.ts's).
   * The first call of the run boots the app once on a template and stops it cleanly; every call
   * copies that template, which saves each test file PGlite's initdb and the migrations.
   */
  async preparedDataDirectory(label: string): Promise<string> {
    const template = join(serviceBuildDirectory(), 'embedded-template');
    if (!existsSync(template)) {
      const building = join(this.temporaryDirectory('embedded-template'), 'data');
      const service = await this.startServing({ DATA_DIR: building });
      const exitCode = await stop(service);
      if (exitCode !== 0) {
        throw new Error(`the template's app exited with ${exitCode}${describeOutput(service)}`);
      }
      renameSync(building, template);
    }
    const dataDirectory = join(this.temporaryDirectory(label), 'data');
    cpSync(template, dataDirectory, { recursive: true });
    return dataDirectory;
  }

  /**
   * Starts the compiled app with exactly `variables`, plus PATH and HOST=127.0.0.1 unless given:
   * nothing leaks in from the test runner's environment. The working directory is a fresh empty
   * one, so a developer's `.env` in the project root is not read and the app must find its own
   * files from its install location.
   */
  start(variables: Record<string, string>, options: StartOptions = {}): ServiceProcess {
    const port = variables.PORT ?? '3000';
    const main = [process.execPath, join(serviceBuildDirectory(), 'src/main.js')];
    // `exec` keeps the process id: the child is node itself, under the lowered limit.
    const [command, ...args] =
      options.descriptorLimit === undefined
        ? main
        : ['sh', '-c', 'ulimit -n "$0" && exec "$@"', String(options.descriptorLimit), ...main];
    const child = spawn(command, args, {
      cwd: this.temporaryDirectory('cwd'),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOST: '127.0.0.1', ...variables },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolveExit, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => resolveExit(code));
    });
    const service: ServiceProcess = {
      child,
      baseUrl: `http://127.0.0.1:${port}`,
      stdout: () => stdout,
      stderr: () => stderr,
      exited,
    };
    this.started.push(service);
    return service;
  }

  /**
   * Starts the app on a free loopback port and waits until `path` answers 200. Another process
   * may take the port between the probe and the bind; then it starts again on another one.
   */
  async startServing(
    variables: Record<string, string>,
    path = '/health/ready',
    options: StartOptions = {},
  ): Promise<ServiceProcess> {
    for (let attempt = 1; ; attempt += 1) {
      const service = this.start({ ...variables, PORT: String(await freePort()) }, options);
      try {
        await waitUntilServing(service, path);
        return service;
      } catch (error) {
        const portTaken = /EADDRINUSE/.test(service.stdout() + service.stderr());
        if (!portTaken || attempt >= 3) throw error;
      }
    }
  }

  async cleanUp(): Promise<void> {
    await Promise.all(this.started.map((service) => kill(service)));
    for (const directory of this.directories) rmSync(directory, { recursive: true, force: true });
  }
}

export function isRunning(service: ServiceProcess): boolean {
  return service.child.exitCode === null && service.child.signalCode === null;
}

export async function kill(service: ServiceProcess): Promise<void> {
  if (!isRunning(service)) return;
  service.child.kill('SIGKILL');
  await service.exited.catch(() => undefined);
}

export function describeOutput(service: ServiceProcess): string {
  return `\n--- stdout ---\n${service.stdout()}\n--- stderr ---\n${service.stderr()}`;
}

export async function waitForExit(
  service: ServiceProcess,
  timeoutMs = BOOT_TIMEOUT_MS,
): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`the process did not exit within ${timeoutMs} ms${describeOutput(service)}`),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([service.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls until `path` answers 200; fails early, with the output, if the process exits. */
export async function waitUntilServing(
  service: ServiceProcess,
  path = '/health',
  timeoutMs = BOOT_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void service.exited.then((code) => (exitCode = code));
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new Error(
        `the process exited with ${exitCode} before serving${describeOutput(service)}`,
      );
    }
    try {
      const response = await fetch(`${service.baseUrl}${path}`, {
        signal: AbortSignal.timeout(5_000),
      });
      if (response.status === 200) return;
      lastProblem = `${path} answered ${response.status}: ${await response.text()}`;
    } catch (error) {
      lastProblem = String(error);
    }
    await new Promise((wait) => setTimeout(wait, 200));
  }
  throw new Error(
    `${path} did not answer 200 within ${timeoutMs} ms (${lastProblem})${describeOutput(service)}`,
  );
}

/** SIGTERM, then the exit code. */
export async function stop(service: ServiceProcess, timeoutMs = 20_000): Promise<number | null> {
  service.child.kill('SIGTERM');
  return waitForExit(service, timeoutMs);
}

/** The JSON (pino) lines the process wrote to stdout so far; a line still being written is left out. */
export function logEntries(service: ServiceProcess): Record<string, unknown>[] {
  const lines = service.stdout().split('\n').slice(0, -1);
  return lines
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export function logMessages(service: ServiceProcess): string[] {
  return logEntries(service).map((entry) => String(entry.msg ?? ''));
}

/** Resolves once the process has logged a message matching `pattern`. */
export async function waitForLogMessage(
  service: ServiceProcess,
  pattern: RegExp,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!logMessages(service).some((message) => pattern.test(message))) {
    if (Date.now() > deadline) {
      throw new Error(
        `no log message matching ${pattern} within ${timeoutMs} ms${describeOutput(service)}`,
      );
    }
    if (!isRunning(service)) {
      throw new Error(`the process exited without logging ${pattern}${describeOutput(service)}`);
    }
    await new Promise((wait) => setTimeout(wait, 10));
  }
}

export interface ServiceEnvironmentOptions {
  databaseUrl: string;
  redisKeyPrefix: string;
  fake: FakeTwilioServer;
  /** Added or overriding variables. */
  extra?: Record<string, string>;
}

/**
 * A service on an already migrated (cloned) test database and the shared Redis, sending our own
 * texts in English through the fake Twilio's Messaging API, with limits out of the way
 * (RELAXED_LIMITS) and pumping holds off. Instances given the same options share everything.
 */
export function serviceEnvironment(options: ServiceEnvironmentOptions): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    HASH_SECRET: TEST_HASH_SECRET,
    JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: options.databaseUrl,
    DATABASE_MIGRATIONS_RUN: 'false',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: options.redisKeyPrefix,
    ...messagingEnv(options.fake, {
      SMS_COUNTRY_LOCALES: 'ET:en',
      SMS_PUMPING_MODE: 'off',
      ...options.extra,
    }),
  };
}
