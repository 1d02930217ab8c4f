import { copyFile, mkdtemp, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';
import { formatWarning, fromFlag } from './shared-flags.js';

/** One finding of `spinel doctor`. */
export interface Diagnosis {
  code: string;
  severity: 'error' | 'warning';
  message: string;
  line?: number;
  column?: number;
  fixable?: boolean;
  fixed?: boolean;
}

/** What `spinel doctor --json` returns. */
export interface DoctorJson {
  manifest: string;
  problems: Diagnosis[];
  backup?: string;
}

/** `spinel doctor`: every manifest problem, missing or non-Wasm sources, the v1 → v2 upgrade. */
export class Doctor extends SpinelCommand {
  static override summary = 'Detect (and fix) problems with a Spin app.';
  static override description =
    'Reports every manifest problem with its line and column, component sources that are missing or are not Wasm, and offers to upgrade a v1 manifest to v2. With --fix the upgrade is written (the original is kept as <manifest>.v1.bak).';
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor -f ./app --fix'];

  static override flags = {
    from: fromFlag,
    fix: Flags.boolean({ description: 'Apply the fixes that can be made automatically (v1 → v2 upgrade).', default: false }),
  };

  async run(): Promise<DoctorJson> {
    const { flags } = await this.parse(Doctor);
    const manifest = await import('@spinel/manifest');
    const cwd = process.cwd();
    const path = await manifest.findManifest({ cwd, ...(flags.from === undefined ? {} : { fileOrDir: flags.from }) });
    const text = await readFile(path, 'utf8');
    const report: DoctorJson = { manifest: path, problems: [] };
    const say = (line: string): void => {
      if (!this.jsonEnabled()) this.log(line);
    };
    say(`Checking ${path}`);

    let parsed;
    try {
      parsed = manifest.parseManifest(text, { path });
    } catch (err) {
      if (!(err instanceof manifest.ManifestAggregateError)) throw err;
      for (const e of err.errors) {
        report.problems.push(diag(e.code, 'error', e.message, e.line, e.column));
        say(e.format());
      }
    }
    if (parsed !== undefined) {
      for (const w of parsed.warnings) {
        report.problems.push(diag(w.code, 'warning', w.message, w.line, w.column));
        say(formatWarning(path, w));
      }
      const appDir = dirname(path);
      const { manifest: app } = manifest.normalizeManifest(parsed.manifest);
      for (const [id, component] of Object.entries(app.components)) {
        if (component.source.kind !== 'local') continue;
        const sourcePath = resolve(appDir, component.source.path);
        const pos = parsed.keyPaths.components[id];
        const where = pos === undefined ? undefined : manifest.locateKeyPath(text, [...pos, 'source'], 'value');
        const buildHint = component.build === undefined ? '' : ' Run `spinel build` to build it.';
        const problem = await checkWasm(sourcePath);
        if (problem === 'missing') {
          const d = diag('DOCTOR_MISSING_SOURCE', 'error', `component \`${id}\`: Wasm source ${JSON.stringify(component.source.path)} does not exist.${buildHint}`, where?.line, where?.column);
          report.problems.push(d);
          say(`${[path, d.line, d.column].filter((v) => v !== undefined).join(':')}: error[${d.code}]: ${d.message}`);
        } else if (problem === 'not-wasm') {
          const d = diag('DOCTOR_NOT_WASM', 'error', `component \`${id}\`: source ${JSON.stringify(component.source.path)} is not a Wasm file (it does not start with \\0asm).${buildHint}`, where?.line, where?.column);
          report.problems.push(d);
          say(`${[path, d.line, d.column].filter((v) => v !== undefined).join(':')}: error[${d.code}]: ${d.message}`);
        }
      }
      // Problems only locking finds (files that do not exist, direct-mount rules, …),
      // without downloading anything: URL sources are not fetched here.
      const scratch = await mkdtemp(join(tmpdir(), 'spinel-doctor-'));
      try {
        await manifest.lockApp(parsed, { appDir, workingDir: scratch, resolver: async () => 'file:///dev/null' });
      } catch (err) {
        if (!(err instanceof manifest.ManifestAggregateError)) throw err;
        for (const e of err.errors) {
          report.problems.push(diag(e.code, 'error', e.message, e.line, e.column));
          say(e.format());
        }
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
      if (parsed.manifestVersion === 1) {
        const d: Diagnosis = { ...diag('DOCTOR_MANIFEST_V1', 'warning', 'This manifest uses the version 1 format; upgrade it to version 2 (`spinel doctor --fix` does it and keeps a backup).', 1, 1), fixable: true };
        if (flags.fix) {
          const backup = await freeName(`${path}.v1.bak`);
          await copyFile(path, backup);
          const tmp = `${path}.spinel-upgrade`;
          await writeFile(tmp, manifest.manifestToV2Toml(parsed.manifest));
          await rename(tmp, path);
          d.fixed = true;
          report.backup = backup;
          say(`Upgraded ${path} to manifest version 2 (the original is saved as ${backup}).`);
        } else {
          say(`${path}:1:1: warning[${d.code}]: ${d.message}`);
        }
        report.problems.push(d);
      }
    }
    const open_ = report.problems.filter((p) => p.fixed !== true);
    const errors = open_.filter((p) => p.severity === 'error');
    if (open_.length === 0) say('No problems found.');
    if (errors.length > 0) {
      if (this.jsonEnabled()) {
        process.exitCode = 1;
        return report;
      }
      throw Object.assign(new Error(`${errors.length} problem${errors.length === 1 ? '' : 's'} found in ${path}; fix ${errors.length === 1 ? 'it' : 'them'} and run \`spinel doctor\` again.`), {
        code: 'CLI_DOCTOR_PROBLEMS',
      });
    }
    return report;
  }
}

function diag(code: string, severity: 'error' | 'warning', message: string, line?: number, column?: number): Diagnosis {
  return { code, severity, message, ...(line === undefined ? {} : { line }), ...(column === undefined ? {} : { column }) };
}

async function checkWasm(path: string): Promise<'missing' | 'not-wasm' | undefined> {
  const s = await stat(path).catch(() => undefined);
  if (s === undefined || !s.isFile()) return 'missing';
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    return bytesRead === 4 && buf.equals(Buffer.from([0, 0x61, 0x73, 0x6d])) ? undefined : 'not-wasm';
  } finally {
    await fh.close();
  }
}

async function freeName(base: string): Promise<string> {
  for (let i = 0; ; i++) {
    const candidate = i === 0 ? base : `${base}.${i}`;
    if ((await stat(candidate).catch(() => undefined)) === undefined) return candidate;
  }
}
