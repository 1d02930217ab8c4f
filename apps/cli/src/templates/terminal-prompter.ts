import type { Readable, Writable } from 'node:stream';
import { CliError } from '../errors.js';
import type { Prompter } from './run-template.js';

/**
 * Questions on a terminal: prompts go to `output` (stderr by default, so stdout stays the
 * command's own output), answers are read a line at a time from `input`. Ctrl-D or Ctrl-C
 * while a question is open cancels the command.
 */
export async function createTerminalPrompter(input: Readable = process.stdin, output: Writable = process.stderr): Promise<Prompter & { close(): void }> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input, output, terminal: (input as { isTTY?: boolean }).isTTY === true });
  const lines: string[] = [];
  const waiting: ((line: string | undefined) => void)[] = [];
  let closed = false;
  rl.on('line', (line) => {
    const next = waiting.shift();
    if (next === undefined) lines.push(line);
    else next(line);
  });
  rl.on('close', () => {
    closed = true;
    for (const w of waiting.splice(0)) w(undefined);
  });
  const ask = async (question: string): Promise<string> => {
    output.write(question);
    const line = lines.shift() ?? (closed ? undefined : await new Promise<string | undefined>((resolve) => waiting.push(resolve)));
    if (line === undefined) throw new CliError('CLI_CANCELLED', 'Cancelled: the input closed before an answer was given.');
    return line.trim();
  };
  return {
    async confirm(question) {
      for (;;) {
        const answer = (await ask(`${question} [y/N] `)).toLowerCase();
        if (answer === '' || answer === 'n' || answer === 'no') return false;
        if (answer === 'y' || answer === 'yes') return true;
      }
    },
    async text(question, defaultValue) {
      const answer = await ask(defaultValue === undefined || defaultValue === '' ? `${question}: ` : `${question} [${defaultValue}]: `);
      return answer === '' && defaultValue !== undefined ? defaultValue : answer;
    },
    async choose(question, choices, defaultValue) {
      output.write(`${question}\n${choices.map((c, i) => `  ${i + 1}) ${c}${c === defaultValue ? ' (default)' : ''}`).join('\n')}\n`);
      for (;;) {
        const answer = await ask(`Choose 1-${choices.length}${defaultValue === undefined ? '' : ` [${defaultValue}]`}: `);
        if (answer === '' && defaultValue !== undefined) return defaultValue;
        const n = Number(answer);
        if (Number.isInteger(n) && n >= 1 && n <= choices.length) return choices[n - 1] as string;
        if (choices.includes(answer)) return answer;
        output.write(`Answer with a number from 1 to ${choices.length}.\n`);
      }
    },
    warn(message) {
      output.write(`${message}\n`);
    },
    close() {
      rl.close();
    },
  };
}
