// Child processes of the benchmark (servers and the load generator), started
// with tsx and spoken to over IPC.
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** A forked child with a request/reply helper over IPC. */
export class Child {
  private constructor(readonly proc: ChildProcess) {}

  /** Forks `bench/<file>` under tsx and waits for its `ready` message. */
  static async start(file: string, execArgv: string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<Child> {
    const proc = fork(fileURLToPath(new URL(file, import.meta.url)), [], {
      execArgv: ["--import", "tsx", ...execArgv],
      env,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const child = new Child(proc);
    await child.next("ready");
    return child;
  }

  /** Waits for the next message of `type` (ticks go to `onOther`). */
  next<T = any>(type: string, onOther?: (msg: any) => void): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (msg: any) => {
        if (msg?.type === type) {
          cleanup();
          resolve(msg);
        } else if (msg?.type === "failed") {
          cleanup();
          reject(new Error(msg.error));
        } else onOther?.(msg);
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`child exited with ${code} while waiting for ${type}`));
      };
      const cleanup = () => {
        this.proc.off("message", onMessage);
        this.proc.off("exit", onExit);
      };
      this.proc.on("message", onMessage);
      this.proc.on("exit", onExit);
    });
  }

  /** Sends `msg` and waits for a reply of type `reply`. */
  request<T = any>(msg: object, reply: string, onOther?: (msg: any) => void): Promise<T> {
    const p = this.next<T>(reply, onOther);
    this.proc.send(msg);
    return p;
  }

  /** Asks the child to exit and waits (kills it after 10 s). */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once("exit", () => r()));
    this.proc.send({ type: "exit" });
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
