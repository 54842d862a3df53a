/** Prints numbered demo steps, times them, and names the step that failed. */
export interface Steps {
  run<T>(title: string, fn: () => Promise<T>): Promise<T>;
  say(line: string): void;
}

/** Creates a step printer writing to `out`. */
export function createSteps(out: NodeJS.WritableStream = process.stdout): Steps {
  let n = 0;
  return {
    async run(title, fn) {
      n++;
      const started = Date.now();
      out.write(`\n[${n}] ${title}\n`);
      try {
        const value = await fn();
        out.write(`    ✓ done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
        return value;
      } catch (err) {
        out.write(`    ✗ step ${n} (${title}) failed: ${(err as Error).message}\n`);
        throw Object.assign(new Error(`step ${n} failed: ${title}`), { cause: err, reported: true });
      }
    },
    say(line) {
      out.write(`    ${line}\n`);
    },
  };
}
