/**
 * A Docker registry on loopback for end-to-end tests (the OS package `docker-registry`, with a
 * temporary config and storage), and a busybox image built from `busybox-static` with umoci,
 * pushed there or saved as a tarball with skopeo. No Docker daemon anywhere.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './cluster.js';

const exec = promisify(execFile);

const TOOLS = ['docker-registry', 'skopeo', 'umoci'];
const BUSYBOX = '/bin/busybox';

/** Why image tests cannot run here (not root, a package missing), or undefined when they can. */
export async function imageTestsUnavailable(): Promise<string | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'image tests need root (oci isolation)';
  for (const tool of TOOLS) {
    const found = await exec('sh', ['-c', `command -v ${tool}`]).then(() => true, () => false);
    if (!found) return `'${tool}' is not installed (apt-get install -y docker-registry skopeo umoci busybox-static)`;
  }
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} is missing (apt-get install -y busybox-static)`;
  const { stdout } = await exec('file', ['-L', BUSYBOX]).catch(() => ({ stdout: 'statically' }));
  if (!/statically/.test(stdout)) return `${BUSYBOX} is not the static build (apt-get install -y busybox-static)`;
  return undefined;
}

export interface LocalRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts `docker-registry` on 127.0.0.1 with its storage in a temporary directory. */
export async function startRegistry(): Promise<LocalRegistry> {
  const dir = tempDir('registry');
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await fetch(`http://${host}/v2/`).then((r) => r.ok, () => false);
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not come up on ${host}: ${stderr.slice(-1000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Builds a busybox image in an OCI layout (`<dir>/layout`, tag `busybox`): /bin/busybox with its
 * applets, /etc/passwd, /etc/agora-image (to tell the image's root from the host's), entrypoint
 * unset, Cmd ["sh"], Env PATH and IMAGE_ENV, WorkingDir /work.
 */
export async function buildBusyboxImage(dir: string): Promise<string> {
  const rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  for (const d of ['etc', 'tmp', 'work', 'proc', 'sys', 'dev']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  const { stdout } = await exec(BUSYBOX, ['--list']);
  for (const applet of stdout.split('\n')) {
    // `busybox` itself is in the list: linking it would replace the binary by a self-loop.
    if (applet === '' || applet === 'busybox' || existsSync(join(rootfs, 'bin', applet))) continue;
    symlinkSync('busybox', join(rootfs, 'bin', applet));
  }
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  writeFileSync(join(rootfs, 'etc', 'agora-image'), 'busybox image built by the agora tests\n');
  const layout = join(dir, 'layout');
  const image = `${layout}:busybox`;
  await exec('umoci', ['init', '--layout', layout]);
  await exec('umoci', ['new', '--image', image]);
  await exec('umoci', ['insert', '--image', image, rootfs, '/']);
  await exec('umoci', [
    'config', '--image', image,
    '--config.cmd', 'sh',
    '--config.env', 'PATH=/bin',
    '--config.env', 'IMAGE_ENV=from-image',
    '--config.workingdir', '/work',
  ]);
  return image;
}

/** Pushes the OCI layout image `image` to `registryHost` as `name` (e.g. `busybox:latest`). */
export async function pushImage(image: string, registryHost: string, name: string): Promise<void> {
  await exec('skopeo', ['copy', '--insecure-policy', '--dest-tls-verify=false', `oci:${image}`, `docker://${registryHost}/${name}`]);
}

/** Saves `image` as a `docker save` tarball `<dir>/<name>.tar` (Mesos's local registry layout). */
export async function saveImage(image: string, dir: string, name: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.tar`);
  // skopeo reads ':' in the path as the start of the tag: write aside, then rename.
  const temp = join(dir, `saving-${process.pid}.tar`);
  await exec('skopeo', ['copy', '--insecure-policy', `oci:${image}`, `docker-archive:${temp}:${name}`]);
  renameSync(temp, file);
  return file;
}

/** Names in a directory, for messages. */
export function listing(dir: string): string {
  return existsSync(dir) ? readdirSync(dir).join(', ') : '(missing)';
}
