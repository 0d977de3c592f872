import { SingleBar } from 'cli-progress';
import type { CycleStats } from '../flow/extract';
import { log } from '../log';

/**
 * Progress of extraction cycles: a bar with records, rate and ETA on a terminal (ETA when the total is
 * known, as in a full resync); elsewhere a log line every few seconds, so long work is never silent.
 */
export function progress(): { onPage: (s: CycleStats) => void; stop: () => void } {
  let bar: SingleBar | null = null;
  let flow = '';
  let started = Date.now();
  let lastLog = 0;
  const stop = () => {
    bar?.stop();
    bar = null;
  };
  const onPage = (s: CycleStats) => {
    if (s.flow !== flow) {
      stop();
      flow = s.flow;
      started = Date.now();
    }
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const rate = Math.round(s.extracted / seconds);
    if (!process.stderr.isTTY) {
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        log.info('progress', { flow: s.flow, extracted: s.extracted, total: s.total, recordsPerSecond: rate });
      }
      return;
    }
    if (!bar) {
      const format = s.total !== undefined
        ? '{flow} |{bar}| {percentage}% {value}/{total} records | {rate} records/s | ETA {eta_formatted}'
        : '{flow} | {value} records | {rate} records/s';
      bar = new SingleBar({ format, hideCursor: true, clearOnComplete: false, stream: process.stderr, etaBuffer: 20 });
      bar.start(s.total ?? 0, 0, { flow: s.flow, rate: 0 });
    }
    if (s.total === undefined) bar.setTotal(s.extracted);
    bar.update(s.extracted, { flow: s.flow, rate });
  };
  return { onPage, stop };
}
