/** Progress lines on stderr (stdout stays for the result table). */
export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/**
 * Reports every `stepPercent` of `total` (and the last item) with elapsed time, rate and errors.
 * Call `update(done, errors)` after each item settles.
 */
export function progressReporter(
  label: string,
  total: number,
  stepPercent = 10,
  write: (message: string) => void = log,
): (done: number, errors: number) => void {
  const started = performance.now();
  const step = Math.max(1, Math.ceil((total * stepPercent) / 100));
  let nextMark = step;
  return (done, errors) => {
    if (done < nextMark && done !== total) {
      return;
    }
    while (nextMark <= done) {
      nextMark += step;
    }
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const pct = total > 0 ? Math.round((done / total) * 100) : 100;
    write(
      `${label}: ${done}/${total} (${pct}%) in ${seconds.toFixed(1)} s, ${rate.toFixed(1)}/s, errors ${errors}`,
    );
  };
}
