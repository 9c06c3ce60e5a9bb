import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { createProgress } from '../../src/cli/progress.ts';

/** A fake terminal that records what is drawn. */
function fakeTty() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as Writable & { isTTY: boolean; columns: number };
  stream.isTTY = true;
  stream.columns = 120;
  return { stream, text: () => chunks.join('') };
}

describe('ferry bench progress bar', () => {
  it('draws the share of the whole batch on a terminal once shown', () => {
    const tty = fakeTty();
    const progress = createProgress({ stream: tty.stream, totalRuns: 2, showAfterMs: 0 });
    progress.run(0, 'first')(1);
    progress.run(1, 'second')(0.5);
    progress.stop();
    expect(tty.text()).toMatch(/ferry bench .*\d+% \| (first|second)/);
  });

  it('stays silent for short batches and without a terminal', () => {
    const tty = fakeTty();
    const progress = createProgress({ stream: tty.stream, totalRuns: 1, showAfterMs: 60_000 });
    progress.run(0, 'short')(0.5);
    progress.stop();
    expect(tty.text()).toBe('');
    const none = createProgress({ stream: undefined, totalRuns: 1, showAfterMs: 0 });
    expect(() => none.run(0, 'x')(1)).not.toThrow();
  });

  it('--json never draws a bar even on a terminal', async () => {
    const tty = fakeTty();
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: () => {}, progress: tty.stream };
    expect(await main(['bench', 'im-30', '--json', '--duration', '3'], io)).toBe(0);
    expect(out).toHaveLength(1);
    expect(tty.text()).toBe('');
  });
});
