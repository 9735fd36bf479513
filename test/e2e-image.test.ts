/**
 * Image tasks on `agora local --isolation oci`: a busybox image built from busybox-static runs
 * from a loopback `docker-registry` and from a directory of tarballs, with the image's Env,
 * WorkingDir and Cmd as Mesos applies them; pull failures name the image; volumes bind host
 * directories read-only and read-write.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskInfo } from '../src/api/index.js';
import { type Cluster, runCli, startCluster, stopCluster, tempDir } from './support/cluster.js';
import { commandTask, TestFramework } from './support/framework.js';
import { buildBusyboxImage, imageTestsUnavailable, pushImage, saveImage, startRegistry, type LocalRegistry } from './support/registry.js';

const TASK_RESOURCES = 'cpus:0.1;mem:64';

async function unavailable(): Promise<string | undefined> {
  const why = await imageTestsUnavailable();
  if (why !== undefined) return why;
  const help = await runCli(['local', '--help']);
  if (!/--isolation/.test(help.stdout)) return 'this build of agora has no --isolation flag (the oci launcher) yet';
  return undefined;
}

const skipReason = await unavailable();
if (skipReason !== undefined) console.log(`e2e-image: skipped: ${skipReason}`);

/** The file `name` in the latest run of task `taskId`'s sandbox. */
function sandboxFile(cluster: Cluster, taskId: string, name: string): string {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 12 || !existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && !entry.isSymbolicLink()) walk(path, depth + 1);
      else if (entry.name === name && path.includes(`/executors/${taskId}/runs/`) && statSync(path).isFile()) found.push(path);
    }
  };
  walk(join(cluster.workDir, 'agents'), 0);
  if (found.length === 0) throw new Error(`no ${name} in the sandbox of ${taskId}`);
  return found[0]!;
}

function imageTask(taskId: string, image: string, command: TaskInfo['command'], volumes: unknown[] = []): TaskInfo {
  const task = commandTask(taskId, 'true', { resources: TASK_RESOURCES });
  return {
    ...task,
    command: command!,
    container: { type: 'MESOS', mesos: { image: { type: 'DOCKER', docker: { name: image } } }, ...(volumes.length > 0 ? { volumes } : {}) },
  };
}

describe.skipIf(skipReason !== undefined)('image tasks from a loopback registry (Registry HTTP API v2)', () => {
  let registry: LocalRegistry | undefined;
  let cluster: Cluster | undefined;
  let fw: TestFramework;
  let image: string;
  const hostDir = tempDir('volumes');

  beforeAll(async () => {
    registry = await startRegistry();
    const build = tempDir('busybox');
    const started = Date.now();
    await pushImage(await buildBusyboxImage(build), registry.host, 'busybox:latest');
    console.log(`e2e-image: built and pushed busybox in ${Date.now() - started} ms`);
    rmSync(build, { recursive: true, force: true });
    image = `${registry.host}/busybox:latest`;
    cluster = await startCluster({ extraArgs: ['--isolation', 'oci', '--docker_pull_timeout', '60secs'] });
    fw = await TestFramework.subscribe({ master: cluster.master, name: 'e2e-image' });
  });

  afterAll(async () => {
    await fw?.teardown().catch(() => undefined);
    await stopCluster(cluster);
    await registry?.stop();
    rmSync(hostDir, { recursive: true, force: true });
  });

  it("runs a shell command inside the image's root filesystem with its Env and WorkingDir", async () => {
    const script = [
      'test -f /etc/agora-image', // the image's file
      'test ! -e /etc/os-release', // the host's file is not there
      'ls /bin/busybox',
      'echo "$IMAGE_ENV $TASK_ENV $PATH" > "$MESOS_SANDBOX/out"',
      'pwd >> "$MESOS_SANDBOX/out"',
    ].join(' && ');
    const started = Date.now();
    await fw.launch([imageTask('img-shell', image, { shell: true, value: script, environment: { variables: [{ name: 'TASK_ENV', value: 'from-task' }] } })], await fw.takeOffer(TASK_RESOURCES));
    const final = await fw.waitForTerminal('img-shell', 60_000);
    console.log(`e2e-image: first image task (pull + provision + run) ${Date.now() - started} ms`);
    expect(final.state, final.message).toBe('TASK_FINISHED');
    expect(fw.states('img-shell')).toContain('TASK_RUNNING');
    expect(readFileSync(sandboxFile(cluster!, 'img-shell', 'out'), 'utf8')).toBe('from-image from-task /bin\n/work\n');
  });

  it("runs the image's Cmd with the task's arguments when shell is false and no value is given", async () => {
    const task = imageTask('img-cmd', image, { shell: false, arguments: ['-c', 'echo "cmd ran as $(id -u)" > "$MESOS_SANDBOX/out"'] });
    await fw.launch([task], await fw.takeOffer(TASK_RESOURCES));
    const final = await fw.waitForTerminal('img-cmd', 60_000);
    expect(final.state, final.message).toBe('TASK_FINISHED');
    expect(readFileSync(sandboxFile(cluster!, 'img-cmd', 'out'), 'utf8')).toBe('cmd ran as 0\n');
  });

  it('fails a task whose image the registry does not have, naming the image and why', async () => {
    const missing = `${registry!.host}/no-such-image:v9`;
    await fw.launch([imageTask('img-missing', missing, { shell: true, value: 'true' })], await fw.takeOffer(TASK_RESOURCES));
    const final = await fw.waitForTerminal('img-missing', 60_000);
    expect(final).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED' });
    expect(final.message).toContain(`Failed to pull image '${missing}'`);
    expect(final.message).toMatch(/not found/);
  });

  it('binds host directories: read-only ones cannot be written, read-write ones can', async () => {
    mkdirSync(join(hostDir, 'ro'), { recursive: true });
    mkdirSync(join(hostDir, 'rw'), { recursive: true });
    const volumes = [
      { mode: 'RO', container_path: '/ro', source: { type: 'HOST_PATH', host_path: { path: join(hostDir, 'ro') } } },
      { mode: 'RW', container_path: 'rw', source: { type: 'HOST_PATH', host_path: { path: join(hostDir, 'rw') } } },
    ];
    const script = 'echo written > "$MESOS_SANDBOX/rw/file" && if echo nope > /ro/file; then exit 3; fi';
    await fw.launch([imageTask('img-volumes', image, { shell: true, value: script }, volumes)], await fw.takeOffer(TASK_RESOURCES));
    const final = await fw.waitForTerminal('img-volumes', 60_000);
    expect(final.state, final.message).toBe('TASK_FINISHED');
    expect(readFileSync(join(hostDir, 'rw', 'file'), 'utf8')).toBe('written\n');
    expect(existsSync(join(hostDir, 'ro', 'file'))).toBe(false);
  });

  it('fails a task whose volume is invalid, naming the field and the fix', async () => {
    const volumes = [{ mode: 'RW', container_path: '/x', source: { type: 'HOST_PATH', host_path: { path: 'relative/path' } } }];
    await fw.launch([imageTask('img-bad-volume', image, { shell: true, value: 'true' }, volumes)], await fw.takeOffer(TASK_RESOURCES));
    const final = await fw.waitForTerminal('img-bad-volume', 60_000);
    expect(final).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED' });
    expect(final.message).toMatch(/container\.volumes\[0\]\.source\.host_path\.path 'relative\/path' is not absolute/);
  });
});

describe.skipIf(skipReason !== undefined)('image tasks from a local registry (a directory of tarballs)', () => {
  let cluster: Cluster | undefined;
  let fw: TestFramework;
  const images = tempDir('local-registry');

  beforeAll(async () => {
    const build = tempDir('busybox');
    await saveImage(await buildBusyboxImage(build), images, 'busybox:latest');
    rmSync(build, { recursive: true, force: true });
    cluster = await startCluster({ extraArgs: ['--isolation', 'oci', '--docker_registry', images] });
    fw = await TestFramework.subscribe({ master: cluster.master, name: 'e2e-image-local' });
  });

  afterAll(async () => {
    await fw?.teardown().catch(() => undefined);
    await stopCluster(cluster);
    rmSync(images, { recursive: true, force: true });
  });

  it('runs busybox from <dir>/busybox:latest.tar', async () => {
    const script = 'test -f /etc/agora-image && test ! -e /etc/os-release && echo ok > "$MESOS_SANDBOX/out"';
    await fw.launch([imageTask('local-img', 'busybox', { shell: true, value: script })], await fw.takeOffer(TASK_RESOURCES));
    const final = await fw.waitForTerminal('local-img', 60_000);
    expect(final.state, final.message).toBe('TASK_FINISHED');
    expect(readFileSync(sandboxFile(cluster!, 'local-img', 'out'), 'utf8')).toBe('ok\n');
  });

  it('fails a task whose tarball is not there, saying what was looked for', async () => {
    await fw.launch([imageTask('local-missing', 'alpine:3', { shell: true, value: 'true' })], await fw.takeOffer(TASK_RESOURCES));
    const final = await fw.waitForTerminal('local-missing', 60_000);
    expect(final).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED' });
    expect(final.message).toMatch(/Failed to pull image 'alpine:3' from the local registry .*looked for alpine:3\.tar/);
  });
});
