/**
 * An exclusive claim on a run folder, so that two processes (two notebooks sharing a teacher, a
 * notebook and a script, a pool started twice) never train the same run at once: the second one
 * waits for the first, then finds the run finished and reads it back. The claim is an advisory
 * `flock` on `<dir>/lock`, so the operating system drops it when its holder exits or is killed;
 * a crash leaves no stale lock to clean up. The file names the holder (pid, host, start time) for
 * the message a waiting process prints. On a file system that refuses advisory locks, the claim
 * says so and goes on unlocked rather than stopping the run.
 *
 * @module
 */
import { join } from "node:path";

/** The name of the lock file inside a run folder. */
export const LOCK_FILE = "lock";

/** Who holds a lock, as written in its file. */
export interface LockHolder {
  /** Process id of the holder. */
  pid: number;
  /** Host name of the holder. */
  host: string;
  /** When it took the lock (ISO 8601). */
  since: string;
}

/** A held lock; `release()` (or leaving a `using` block) lets the next process in. */
export interface HeldLock extends Disposable {
  /** Releases the lock; later calls do nothing. */
  release(): void;
}

/** Options of {@link lockFolder}. */
export interface LockOptions {
  /**
   * Called once when another process holds the lock and this one starts waiting (default: a
   * line on stderr naming the holder). `holder` is undefined when its file could not be read.
   */
  onWait?: (holder: LockHolder | undefined) => void;
  /**
   * Called when the file system refuses advisory locks; the lock is then a no-op (default: a
   * line on stderr). Training still runs, unprotected against a second process.
   */
  onUnsupported?: (error: Error) => void;
}

/** The holder named in a folder's lock file, if there is one and it parses. */
export function lockHolder(dir: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(Deno.readTextFileSync(join(dir, LOCK_FILE)));
    return typeof holder?.pid === "number" ? holder as LockHolder : undefined;
  } catch {
    return undefined;
  }
}

/** The line printed while waiting for the holder of `dir`'s lock. */
export function waitMessage(dir: string, holder: LockHolder | undefined): string {
  const who = !holder
    ? "another process"
    : holder.pid === Deno.pid && holder.host === Deno.hostname()
    ? "this process"
    : `process ${holder.pid} on ${holder.host} (since ${holder.since})`;
  return `waiting for ${dir}: ${who} holds it`;
}

/**
 * Takes the exclusive lock of folder `dir` (created if missing), waiting for its holder when
 * another process, or another open in this process, has it.
 */
export async function lockFolder(dir: string, options: LockOptions = {}): Promise<HeldLock> {
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const file = await Deno.open(path, { read: true, write: true, create: true });
  let acquired: boolean;
  try {
    acquired = await file.tryLock(true);
  } catch (error) {
    // A file system without advisory locks (some network and FUSE mounts): train unlocked.
    file.close();
    (options.onUnsupported ?? ((e) =>
      console.error(
        `cannot lock ${dir} (${e.message}): going on without a lock; do not train this run ` +
          "from two processes at once",
      )))(error as Error);
    return { release: () => {}, [Symbol.dispose]: () => {} };
  }
  try {
    if (!acquired) {
      const onWait = options.onWait ?? ((holder) => console.error(waitMessage(dir, holder)));
      onWait(lockHolder(dir));
      await file.lock(true);
    }
    const holder: LockHolder = {
      pid: Deno.pid,
      host: Deno.hostname(),
      since: new Date().toISOString(),
    };
    await file.truncate(0);
    const bytes = new TextEncoder().encode(JSON.stringify(holder) + "\n");
    for (let written = 0; written < bytes.length;) {
      written += await file.write(bytes.subarray(written));
    }
  } catch (error) {
    file.close();
    throw error;
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    file.unlockSync();
    file.close();
  };
  return { release, [Symbol.dispose]: release };
}
