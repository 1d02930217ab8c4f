// Runs componentize-js in its own process: a build takes ~600 MB and ~10 s, and needs a module
// hook (weval, which it imports eagerly, has no native binding here and is never used).
import { writeFile } from 'node:fs/promises';
import { register } from 'node:module';

const WEVAL_STUB = 'export default async function getWeval() { throw new Error("weval is not available"); }';
const HOOKS = `export async function resolve(specifier, context, next) {
  if (specifier === '@bytecodealliance/weval') return { url: 'data:text/javascript,' + encodeURIComponent(${JSON.stringify(WEVAL_STUB)}), shortCircuit: true };
  return next(specifier, context);
}`;

async function main(): Promise<void> {
  const [sourcePath, witPath, worldName, outPath] = process.argv.slice(2);
  if (sourcePath === undefined || witPath === undefined || worldName === undefined || outPath === undefined) {
    throw new Error('usage: componentize-child <source.js> <wit dir> <world> <out.wasm>');
  }
  register(`data:text/javascript,${encodeURIComponent(HOOKS)}`);
  // componentize-js reads WIT through preview2-shim's filesystem, which sees nothing unless preopened.
  const { _setPreopens } = (await import('@bytecodealliance/preview2-shim/filesystem' as string)) as { _setPreopens(p: Record<string, string>): void };
  _setPreopens({ '/': '/' });
  const { componentize } = (await import('@bytecodealliance/componentize-js' as string)) as {
    componentize(opts: { sourcePath: string; witPath: string; worldName: string }): Promise<{ component: Uint8Array }>;
  };
  const { component } = await componentize({ sourcePath, witPath, worldName });
  await writeFile(outPath, component);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
