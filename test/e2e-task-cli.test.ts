/**
 * `agora task list | log | exec` against `agora local --isolation oci`: what an operator sees.
 * A task lists as running; `exec` runs commands inside its container (its pid namespace: pid 1 is
 * the container's init with the task's command line) and exits with their status; `log -f`
 * streams what the task prints after it started and ends with the task; `exec -it` drives a
 * shell on a terminal (through python3's pty, when there is a python3).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, type Cluster, REPO, runCli, startCluster, stopCluster, tempDir } from './support/cluster.js';
import { commandTask, TestFramework } from './support/framework.js';

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: containers need namespaces and cgroups';
  const has = (name: string) => ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/bin', '/sbin'].some((d) => existsSync(join(d, name)));
  if (!has('crun') && !has('runc')) return 'neither crun nor runc is installed (apt-get install crun)';
  if (!has('script')) return 'util-linux script is missing (apt-get install bsdutils)';
  return undefined;
}

const skip = skipReason();
if (skip !== undefined) console.log(`e2e-task-cli: skipped: ${skip}`);

const python3 = spawnSync('python3', ['-c', 'import pty'], { stdio: 'ignore' }).status === 0;
const RESOURCES = 'cpus:0.1;mem:64';
/** Unmistakably the task's own command line. */
const SERVICE = 'echo service up; exec sleep 300 # agora-e2e-service';

describe.skipIf(skip !== undefined)('agora task list, log and exec', () => {
  let cluster: Cluster | undefined;
  let fw: TestFramework;
  let scratch: string;

  beforeAll(async () => {
    cluster = await startCluster({ isolation: 'oci', resources: 'cpus:2;mem:2048;disk:2048;ports:[31000-32000]' });
    fw = await TestFramework.subscribe({ master: cluster.master, name: 'e2e-task-cli' });
    await fw.launch([commandTask('service', SERVICE, { resources: RESOURCES })], await fw.takeOffer(RESOURCES));
    await fw.waitForState('service', 'TASK_RUNNING', 30_000);
    scratch = tempDir('task-cli');
  });

  afterAll(async () => {
    await fw?.teardown().catch(() => undefined);
    await stopCluster(cluster);
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  // --master goes before the task: after it, exec passes everything on to the command.
  const task = ([command, ...args]: string[], timeoutMs = 30_000) => runCli(['task', command!, '--master', cluster!.master, ...args], { timeoutMs });

  it('agora task list shows the running task with its state, framework and agent', async () => {
    const listed = await task(['list']);
    expect(listed.code, listed.stderr).toBe(0);
    const [header, ...rows] = listed.stdout.trim().split('\n');
    expect(header!.split(/\s+/)).toEqual(['ID', 'NAME', 'STATE', 'FRAMEWORK', 'AGENT']);
    const row = rows.map((r) => r.split(/\s+/)).find((r) => r[0] === 'service');
    expect(row).toEqual(['service', 'service', 'TASK_RUNNING', fw.frameworkId, expect.stringMatching(/-S\d+$/)]);
    const other = await task(['list', '--framework', 'someone-else']);
    expect(other.stdout).toBe('');
    expect(other.stderr).toMatch(/no active tasks match/);
  });

  it("agora task exec runs cat /proc/1/cmdline in the task's pid namespace and sees the task's process", async () => {
    const result = await task(['exec', 'service', '--', 'cat', '/proc/1/cmdline']);
    expect(result.code, result.stderr).toBe(0);
    const argv = result.stdout.split('\0').filter((a) => a !== '');
    // pid 1 is the container's init (tini, bound at /dev/init) running the task's command, not the host's init.
    expect(argv).toContain(SERVICE);
    expect(argv[0]).toBe('/dev/init');
    const ps = await task(['exec', 'service', '--', 'sh', '-c', 'ls /proc | grep -c "^[0-9]"']);
    expect(Number(ps.stdout.trim())).toBeLessThan(10); // init, the task, sleep and us: not the host's hundreds.
  });

  it("exits with the command's exit status and passes its stderr", async () => {
    const result = await task(['exec', 'service', '--', 'sh', '-c', 'echo to-stderr >&2; exit 4']);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('to-stderr');
  });

  it('agora task exec -i sends stdin to the command', async () => {
    const child = spawn(process.execPath, [CLI, 'task', 'exec', '-i', '--master', cluster!.master, 'service', '--', 'sh', '-c', 'read line; echo "got $line"'], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stdin.end('hello from stdin\n');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stdout).toBe('got hello from stdin\n');
  });

  it('agora task log -f streams a line the task prints after the command started, and ends with the task', async () => {
    await fw.launch(
      [
        commandTask('chatty', 'echo first line; echo to stderr >&2; while [ ! -f go ]; do sleep 0.1; done; echo printed after start; sleep 0.5', {
          resources: RESOURCES,
        }),
      ],
      await fw.takeOffer(RESOURCES),
    );
    await fw.waitForState('chatty', 'TASK_RUNNING', 30_000);
    const follower = spawn(process.execPath, [CLI, 'task', 'log', '-f', 'chatty', '--master', cluster!.master], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    follower.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    follower.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const closed = new Promise<number | null>((resolve) => follower.on('close', resolve));
    await fw.until(() => (stdout.includes('first line') ? true : undefined), 20_000, `task log -f to print the first line (${stderr})`);
    expect(stdout).not.toContain('printed after start');
    // The sandbox is the task's working directory: exec makes the file it waits for.
    expect((await task(['exec', 'chatty', '--', 'touch', 'go'])).code).toBe(0);
    await fw.until(() => (stdout.includes('printed after start') ? true : undefined), 20_000, 'task log -f to print the later line');
    expect(await closed).toBe(0); // It ends by itself once the task has finished.
    expect(stdout).toBe('first line\nprinted after start\n');
    expect((await fw.waitForTerminal('chatty')).state).toBe('TASK_FINISHED');

    const tail = await task(['log', 'chatty', '--lines', '1']);
    expect(tail.stdout).toBe('printed after start\n');
    expect((await task(['log', 'chatty', '--stderr'])).stdout).toBe('to stderr\n');
  });

  it('says in one line what is wrong: an unknown task with candidates, a task that is not running', async () => {
    const unknown = await task(['log', 'no-such-task']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toMatch(/agora task: no task 'no-such-task' .*running tasks: service/);
    await fw.launch([commandTask('done', 'true', { resources: RESOURCES })], await fw.takeOffer(RESOURCES));
    await fw.waitForTerminal('done', 30_000);
    const ended = await task(['exec', 'done', '--', 'true']);
    expect(ended.code).toBe(1);
    expect(ended.stderr).toMatch(/task 'done' is TASK_FINISHED, not running/);
  });

  it.skipIf(!python3)('agora task exec -it gives a shell a terminal of this size, with raw keys and the exit status', async () => {
    const driver = join(scratch, 'drive.py');
    writeFileSync(
      driver,
      `import fcntl, os, pty, select, struct, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 30, 100, 0, 0))
out = b''
def wait_for(text, seconds):
    global out
    end = time.time() + seconds
    while text not in out and time.time() < end:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return
            if not data:
                return
            out += data
wait_for(b'# ', 30)
os.write(fd, b'stty size; tty; sleep 30\\r')
wait_for(b'/dev/pts/', 10)
time.sleep(0.5)
os.write(fd, b'\\x03')
wait_for(b'^C', 10)
os.write(fd, b'echo interrupted; exit 7\\r')
wait_for(b'\\x00', 10)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace'))
sys.exit(os.waitstatus_to_exitcode(status))
`,
    );
    const result = spawnSync('python3', [driver, process.execPath, CLI, 'task', 'exec', '-it', '--master', cluster!.master, 'service', '--', '/bin/sh'], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status, result.stdout + result.stderr).toBe(7);
    expect(result.stdout).toMatch(/30 100\r/); // the window size of the terminal we gave it
    expect(result.stdout).toMatch(/\/dev\/pts\/\d+/); // a terminal inside the container
    expect(result.stdout).toMatch(/interrupted/); // Ctrl-C stopped sleep, not the shell
  });
});
