// Runs untrusted Python (model-written HumanEval code) in a sandbox and reports what happened.
//
// Isolation 'namespaces' (the default; needs util-linux unshare, and either root or unprivileged
// user namespaces). What the OS enforces, per run:
//   - a separate process in new network, mount, PID, IPC and UTS namespaces (unshare). The network
//     namespace holds only a loopback interface that is down: no connection leaves the sandbox,
//     not even to 127.0.0.1 on the host, and host abstract unix sockets are out of reach;
//   - a private filesystem view (chroot into a fresh tmpfs): /usr (and the /bin, /lib, /lib64,
//     /sbin links or binds) read-only, nosuid, nodev; /dev/{null,zero,random,urandom}; an empty
//     size-capped tmpfs at /tmp; and the working directory /sandbox, another size-capped tmpfs
//     holding only main.py. /etc, /home, /root, /proc, /work and the host's /tmp are not there, so
//     project files and secrets cannot be opened. Everything is gone when the namespace dies;
//   - an unprivileged identity: as root, a fresh uid/gid per run (not in /etc/passwd, so it owns
//     no host file and shares no process count); without root, root of a user namespace with every
//     capability dropped. Both run with no_new_privs (setuid binaries gain nothing);
//   - resource limits (prlimit): RLIMIT_CPU (SIGKILL at the hard limit), RLIMIT_AS (allocation
//     fails with MemoryError), RLIMIT_NPROC (fork bombs get EAGAIN), RLIMIT_FSIZE, RLIMIT_NOFILE,
//     RLIMIT_CORE 0;
//   - a wall-clock limit: SIGKILL to the process group; the sandbox's PID namespace dies with its
//     init, which takes every process in it, including any that called setsid();
//   - output caps: the parent keeps at most maxOutputBytes of stdout and of stderr and kills the
//     sandbox once either overflows, so Node never buffers more than the cap.
// Nothing here relies on Python for security in this mode.
//
// Isolation 'none' (only with allowUnsandboxed: true, refused otherwise): a child process in a
// private temp dir with the same rlimits, a process-group kill and output caps, plus a Python
// audit hook that refuses sockets, subprocesses and opening files outside the temp dir and the
// Python installation. Audit hooks are advisory: ctypes or a C extension bypasses them, so this
// mode must not run code you do not trust. Without root, RLIMIT_NPROC counts all of the user's
// processes; as root it is not enforced at all.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';

export type Isolation = 'namespaces' | 'none';

export interface SandboxLimits {
  /** Wall-clock seconds before the whole sandbox is SIGKILLed (default 10). */
  wallSeconds?: number;
  /** CPU seconds (RLIMIT_CPU; default 5). */
  cpuSeconds?: number;
  /** Address space in bytes (RLIMIT_AS; default 512 MiB). */
  memoryBytes?: number;
  /** Processes and threads of the sandbox's uid (RLIMIT_NPROC; default 16). */
  maxProcesses?: number;
  /** Largest file the code may write (RLIMIT_FSIZE; default 16 MiB); also sizes /sandbox and /tmp. */
  maxFileBytes?: number;
  /** Open file descriptors (RLIMIT_NOFILE; default 64). */
  maxOpenFiles?: number;
  /** Bytes of stdout and of stderr kept; more kills the sandbox (default 64 KiB each). */
  maxOutputBytes?: number;
}

export interface SandboxOptions extends SandboxLimits {
  /** Python interpreter; in 'namespaces' mode it must live under /usr or readOnlyPaths (default /usr/bin/python3). */
  python?: string;
  /** Extra host directories to show read-only at the same path (e.g. a pyenv prefix). */
  readOnlyPaths?: string[];
  /** Run with isolation 'none' when namespaces are unavailable. Only for code you trust. */
  allowUnsandboxed?: boolean;
  /** Force a mode (tests); default: 'namespaces' when available. */
  isolation?: Isolation;
  signal?: AbortSignal;
}

export type SandboxStatus =
  | 'ok' // exited 0
  | 'error' // exited non-zero (an exception, a failed assert)
  | 'timeout' // wall clock ran out: killed
  | 'cpu-limit' // RLIMIT_CPU: killed
  | 'killed' // another signal (e.g. SIGKILL after a memory or process limit)
  | 'output-limit' // printed more than maxOutputBytes: killed
  | 'aborted'; // the caller's signal

export interface SandboxResult {
  status: SandboxStatus;
  /** Exit code of the Python process, or null when a signal ended it. */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** True when stdout or stderr went past maxOutputBytes (the kept text is the beginning). */
  truncated: boolean;
  wallMs: number;
  isolation: Isolation;
  /** The per-run uid the code ran as (root 'namespaces' mode), else null. */
  uid: number | null;
}

export class SandboxUnavailableError extends Error {
  constructor(reason: string) {
    super(
      `cannot sandbox untrusted code: ${reason}. Run as root or enable unprivileged user namespaces (sysctl ` +
        `kernel.unprivileged_userns_clone=1; util-linux unshare must be installed), or pass allowUnsandboxed (--allow-unsandboxed) ` +
        `to run only code you trust with rlimits and a bypassable Python audit hook`,
    );
  }
}

const DEFAULTS: Required<SandboxLimits> = {
  wallSeconds: 10,
  cpuSeconds: 5,
  memoryBytes: 512 << 20,
  maxProcesses: 16,
  maxFileBytes: 16 << 20,
  maxOpenFiles: 64,
  maxOutputBytes: 64 << 10,
};

// Exit status the setup script uses for its own failures, with this prefix on stderr.
const SETUP_FAILED = 125;
const SETUP_MARK = 'tetra-sandbox-setup:';

// ---------------------------------------------------------------------------- support probe

let probed: { ok: true } | { ok: false; reason: string } | undefined;

const isRoot = (): boolean => process.getuid?.() === 0;
const nsFlags = (): string[] => [
  ...(isRoot() ? [] : ['--user', '--map-root-user']),
  '--net',
  '--mount',
  '--pid',
  '--ipc',
  '--uts',
  '--fork',
  '--kill-child',
];

/** Whether this machine can create the namespaces the sandbox needs (probed once per process). */
export function sandboxSupport(): { ok: true } | { ok: false; reason: string } {
  if (probed) return probed;
  if (process.platform !== 'linux') return (probed = { ok: false, reason: `namespaces need Linux, this is ${process.platform}` });
  const r = spawnSync('unshare', [...nsFlags(), 'true'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) probed = { ok: false, reason: `unshare did not run (${r.error.message})` };
  else if (r.status !== 0)
    probed = { ok: false, reason: `unshare ${nsFlags().join(' ')} failed: ${(r.stderr || '').trim() || `exit ${r.status}`}` };
  else probed = { ok: true };
  return probed;
}

// ---------------------------------------------------------------------------- namespaces mode

// Runs as root of the new namespaces (real root, or root of a user namespace), outside the chroot.
// $1 host dir (holds main.py and root/), $2 uid to run as ('' = stay, caps dropped), $3 cpu s,
// $4 address-space bytes, $5 nproc, $6 fsize bytes, $7 nofile, $8 python, $9 read-only extras
// (colon-separated). The program runs as a child (not exec'd) so this shell stays PID 1: signals
// the kernel sends the program (SIGXCPU) are then not swallowed by init's signal immunity.
const SETUP = String.raw`
fail() { echo "${SETUP_MARK} $*" >&2; exit ${SETUP_FAILED}; }
H="$1"; R="$1/root"
mount --make-rprivate / 2>/dev/null
mount -t tmpfs -o size=4m,mode=755 tetra-root "$R" || fail "cannot mount a tmpfs root"
robind() { # host path -> same path in the new root, read-only, nosuid, nodev
  mkdir -p "$R$1" || fail "mkdir $1"
  mount --rbind "$1" "$R$1" || fail "cannot bind $1"
  mount -o remount,bind,ro,nosuid,nodev "$R$1" || fail "cannot make $1 read-only"
}
robind /usr
for d in bin lib lib32 lib64 libx32 sbin; do
  if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$R/$d"
  elif [ -d "/$d" ]; then robind "/$d"; fi
done
OLDIFS="$IFS"; IFS=:
for p in $9; do [ -n "$p" ] && robind "$p"; done
IFS="$OLDIFS"
mkdir "$R/dev" "$R/tmp" "$R/sandbox" || fail "mkdir"
for n in null zero random urandom; do
  touch "$R/dev/$n" && mount --bind "/dev/$n" "$R/dev/$n" || fail "cannot bind /dev/$n"
done
mount -t tmpfs -o "size=$6,mode=1777,nosuid,nodev" tetra-tmp "$R/tmp" || fail "cannot mount /tmp"
mount -t tmpfs -o "size=$6,mode=700,nosuid,nodev" tetra-sandbox "$R/sandbox" || fail "cannot mount /sandbox"
cp "$H/main.py" "$R/sandbox/main.py" || fail "cannot copy the program"
if [ -n "$2" ]; then
  chown -R "$2:$2" "$R/sandbox" || fail "chown"
  ID="--reuid=$2 --regid=$2 --clear-groups"
else
  ID=""
fi
mount -o remount,ro tetra-root "$R" 2>/dev/null || mount -o remount,bind,ro "$R" || fail "cannot make the root read-only"
cd /
chroot "$R" /usr/bin/env -i -C /sandbox PATH=/usr/bin:/bin HOME=/sandbox LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 \
  /usr/bin/prlimit --cpu="$3:$(($3 + 1))" --as="$4" --nproc="$5" --fsize="$6" --nofile="$7" --core=0 -- \
  /usr/bin/setpriv $ID --no-new-privs --inh-caps=-all --bounding-set=-all -- \
  "$8" -I -B main.py
echo $? > "$H/status"
`;

/** Per-run uid for root mode: high, random, and outside any range useradd hands out. */
const freshUid = (): number => 1_500_000_000 + Math.floor(Math.random() * 500_000_000);

function namespacesCommand(
  dir: string,
  python: string,
  l: Required<SandboxLimits>,
  readOnly: string[],
  uid: number | null,
): [string, string[]] {
  // RLIMIT_NPROC counts the real uid's processes system-wide. As root each run gets a fresh uid,
  // so the count starts at 0; in a user namespace the uid is the caller's, so add what it already runs.
  const nproc = uid === null ? l.maxProcesses + userProcessCount() : l.maxProcesses;
  return [
    'unshare',
    [
      ...nsFlags(),
      '--',
      '/bin/sh',
      '-c',
      SETUP,
      'tetra-sandbox',
      dir,
      uid === null ? '' : String(uid),
      String(Math.max(1, Math.ceil(l.cpuSeconds))),
      String(l.memoryBytes),
      String(nproc),
      String(l.maxFileBytes),
      String(l.maxOpenFiles),
      python,
      readOnly.join(':'),
    ],
  ];
}

function userProcessCount(): number {
  const r = spawnSync('ps', ['-U', String(process.getuid?.() ?? 0), '-L', '-o', 'lwp='], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean).length : 256;
}

// ---------------------------------------------------------------------------- unsandboxed mode

// Advisory only (see the header): a ctypes call walks around every check here.
const AUDIT_PREAMBLE = String.raw`
import sys as _s, os as _o
def _tetra_guard():
    allowed = tuple(_o.path.realpath(p) for p in {_o.getcwd(), _s.prefix, _s.base_prefix, _s.exec_prefix, _s.base_exec_prefix, '/dev/null'})
    blocked = ('socket.', 'subprocess.', 'os.system', 'os.exec', 'os.posix_spawn', 'os.spawn', 'os.fork', 'os.forkpty', 'pty.', 'ctypes.')
    def hook(event, args):
        if event.startswith(blocked):
            raise PermissionError(f'sandbox: {event} is not allowed')
        if event == 'open' and args and isinstance(args[0], (str, bytes)):
            p = _o.path.realpath(_o.fsdecode(args[0]))
            if not any(p == a or p.startswith(a.rstrip('/') + '/') for a in allowed):
                raise PermissionError(f'sandbox: opening {p} is not allowed')
    _s.addaudithook(hook)
_tetra_guard(); del _tetra_guard
`;

function unsandboxedCommand(dir: string, python: string, l: Required<SandboxLimits>): [string, string[]] {
  return [
    'prlimit',
    [
      `--cpu=${Math.ceil(l.cpuSeconds)}:${Math.ceil(l.cpuSeconds) + 1}`,
      `--as=${l.memoryBytes}`,
      `--nproc=${l.maxProcesses + userProcessCount()}`,
      `--fsize=${l.maxFileBytes}`,
      `--nofile=${l.maxOpenFiles}`,
      '--core=0',
      '--',
      python,
      '-I',
      '-B',
      join(dir, 'main.py'),
    ],
  ];
}

// ---------------------------------------------------------------------------- run

/** Runs `code` as a Python program in the sandbox; never throws for anything the code does. */
export async function runSandboxed(code: string, o: SandboxOptions = {}): Promise<SandboxResult> {
  const l: Required<SandboxLimits> = { ...DEFAULTS };
  for (const k of Object.keys(DEFAULTS) as (keyof SandboxLimits)[]) {
    const v = o[k];
    if (v === undefined) continue;
    if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new RangeError(`sandbox: ${k} must be a positive number, got ${v}`);
    l[k] = v;
  }
  const python = o.python ?? '/usr/bin/python3';
  let isolation: Isolation = o.isolation ?? 'namespaces';
  if (isolation === 'namespaces') {
    const s = sandboxSupport();
    if (!s.ok) {
      if (!o.allowUnsandboxed) throw new SandboxUnavailableError(s.reason);
      isolation = 'none';
    }
  } else if (!o.allowUnsandboxed) {
    throw new SandboxUnavailableError('isolation none was asked for without allowUnsandboxed');
  }

  const dir = mkdtempSync(join(tmpdir(), 'tetra-sandbox-'));
  try {
    const work = isolation === 'none' ? join(dir, 'work') : dir;
    if (isolation === 'none') mkdirSync(work);
    else mkdirSync(join(dir, 'root'));
    chmodSync(dir, 0o700);
    writeFileSync(join(work, 'main.py'), isolation === 'none' ? AUDIT_PREAMBLE + '\n' + code : code, { mode: 0o600 });
    const uid = isolation === 'namespaces' && isRoot() ? freshUid() : null;
    const [cmd, args] =
      isolation === 'namespaces' ? namespacesCommand(dir, python, l, o.readOnlyPaths ?? [], uid) : unsandboxedCommand(work, python, l);
    const r = await runBounded(cmd, args, isolation === 'none' ? work : '/', l, o.signal);
    let exitCode = r.exitCode,
      sig = r.signal;
    if (isolation === 'namespaces' && !r.killedBy) {
      if (r.exitCode === SETUP_FAILED && r.stderr.includes(SETUP_MARK)) throw new Error(`sandbox setup failed: ${r.stderr.trim()}`);
      // The shell in the sandbox reports the program's status as 128 + signal for a signal.
      let st: number | null = null;
      try {
        st = Number(readFileSync(join(dir, 'status'), 'utf8').trim());
      } catch {
        /* killed before it could write */
      }
      if (st !== null && Number.isInteger(st)) {
        exitCode = st > 128 ? null : st;
        sig = st > 128 ? signalName(st - 128) : null;
      }
    }
    const status: SandboxStatus = r.killedBy ?? (sig === 'SIGXCPU' ? 'cpu-limit' : sig ? 'killed' : exitCode === 0 ? 'ok' : 'error');
    return {
      status,
      exitCode: r.killedBy ? null : exitCode,
      signal: r.killedBy ? 'SIGKILL' : sig,
      stdout: r.stdout,
      stderr: r.stderr,
      truncated: r.truncated,
      wallMs: r.wallMs,
      isolation,
      uid,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function signalName(n: number): string {
  return Object.entries(osConstants.signals).find(([, v]) => v === n)?.[0] ?? `signal ${n}`;
}

interface Bounded {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  wallMs: number;
  killedBy?: 'timeout' | 'output-limit' | 'aborted';
}

/** Spawns in its own process group, caps what it keeps of stdout/stderr, SIGKILLs the group on a limit. */
function runBounded(cmd: string, args: string[], cwd: string, l: Required<SandboxLimits>, signal?: AbortSignal): Promise<Bounded> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, {
      cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
    });
    const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    const kept = { stdout: 0, stderr: 0 };
    let truncated = false,
      killedBy: Bounded['killedBy'];
    const kill = (why: NonNullable<Bounded['killedBy']>) => {
      killedBy ??= why;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    for (const name of ['stdout', 'stderr'] as const) {
      child[name].on('data', (b: Buffer) => {
        const room = l.maxOutputBytes - kept[name];
        if (room > 0) {
          out[name].push(b.subarray(0, room));
          kept[name] += Math.min(room, b.length);
        }
        if (b.length > room) {
          truncated = true;
          kill('output-limit');
        }
      });
    }
    const timer = setTimeout(() => kill('timeout'), l.wallSeconds * 1000);
    const onAbort = () => kill('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`sandbox: cannot start ${cmd}: ${e.message}`));
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // The group may outlive its leader (e.g. isolation 'none' with a daemonised child).
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
      const text = (bs: Buffer[]) => Buffer.concat(bs).toString('utf8');
      resolve({
        exitCode: code,
        signal: sig,
        stdout: text(out.stdout),
        stderr: text(out.stderr),
        truncated,
        wallMs: performance.now() - t0,
        killedBy,
      });
    });
  });
}
