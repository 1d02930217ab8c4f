/**
 * A shorter path through jco 1.35's glue for a synchronous call from a synchronous guest task to
 * a synchronous host import — every host call a WAT or componentize-js guest of a Spin app makes.
 *
 * jco's glue lowers every import through `_lowerImportBackwardsCompat`, which makes a subtask
 * (a waitable in the component's handle table, its own promise-free state machine) under the
 * calling guest task; the import's trampoline then makes a host task (two promises, a resource
 * scope, an entry in the task registry), runs the host function, resolves the host task (which
 * resolves the subtask, which removes itself from the caller and the handle table) and exits it.
 * For a sync import called from a sync task all of that is created and undone within the call:
 * it is bookkeeping for the async ABI, which such a call never reaches. It costs about as much as
 * a SQLite point query and its host side together.
 *
 * The patch adds `_spinelLowerSync`, used in place of `_lowerImportBackwardsCompat` for the
 * imports jco lowers as sync functions of sync type whose trampoline has the known shape. At each
 * call it checks what the text cannot show — the import is still sync (`manuallyAsync` unset), a
 * task of the component is current, and that task is a sync, not manually-async, unresolved
 * task — and then calls the trampoline directly with the caller's task as `this`; otherwise it
 * takes jco's own path unchanged. A trampoline called that way skips making its host task and
 * uses a stand-in ({@link SPINEL_HOST_TASK_CLASS}) whose `reject` rejects the caller's task, as
 * the host task's rejection does through the subtask, so a host function that throws leaves the
 * caller's task in the state jco's path leaves it. Everything else a trampoline does is its own
 * text, untouched: the may-leave check (done by the lowerer first, as jco does), lifting and
 * lowering, the borrowed-resource scope (`curResourceBorrows`), the trap mark, the
 * result-catch-handler's error payloads, `_trackHostOperation`. On that path the host function
 * also runs without the host task marked current (`_withGlobalCurrentTaskMeta`): only glue run
 * from inside a host function (a host calling back into the guest) reads that mark.
 *
 * What differs, by design: the counters behind task, subtask and waitable ids advance less, and
 * no subtask waitable is inserted into and removed from the handle table — neither is visible to
 * a sync component. The patch matches the text jco 1.35 generates (pinned, and part of the cache
 * key); a trampoline or binding of another shape is left on jco's path, and glue of another shape
 * is left alone, reported by {@link patchGlueSyncCalls}.
 */

/** The name of the lowering function the patch adds. */
export const SPINEL_LOWER_SYNC = '_spinelLowerSync';
/** The name of the function a patched trampoline calls its host function through on the short path. */
export const SPINEL_CALL_HOST = '_spinelCallHost';
/** The name of the host-task stand-in class the patch adds. */
export const SPINEL_HOST_TASK_CLASS = '_SpinelDirectHostTask';

/** Result of {@link patchGlueSyncCalls}. */
export type GlueSyncCallPatch =
  | {
      ok: true;
      source: string;
      /** Import bindings now lowered through the short path. */
      patched: number;
      /** Import bindings left on jco's path, with the reason for each (by trampoline name). */
      skipped: Record<string, string>;
    }
  | { ok: false; reason: string };

const LOWER_DECLARATION = /^([ \t]*)function _lowerImportBackwardsCompat\(args\) \{$/m;
const TASK_CLASS = /^[ \t]*class AsyncTask \{$/m;
const TRAMPOLINE_START = /^([ \t]*)const (_trampoline\d+) = function\(([^)]*)\) \{$/gm;
/** The methods a trampoline may call on its host task once made: what the stand-in implements. */
const STAND_IN_METHODS = new Set(['enterSync', 'componentIdx', 'id', 'resolve', 'exit', 'setErrored', 'reject', 'getParentSubtask']);

/** The task-making block of a host-provided sync trampoline, as jco 1.35 writes it. */
const TASK_CREATION =
  /const hostProvided = true;\s*let parentTask;\s*let task;\s*let subtask;\s*const createTask = \(\) => \{\s*const results = createNewCurrentTask\(\{\s*componentIdx: -1,\s*isAsync: false,[^}]*?callingWasmExport: false,\s*\}\);\s*task = results\[0\];\s*\};\s*taskCreation: \{\s*parentTask = getCurrentTask\(/;

const HELPERS = `
  // Added by Spinel (prepare/glue-sync-call-patch.ts): a sync import called from a sync task
  // skips the subtask and host task jco makes and undoes within the call.
  class ${SPINEL_HOST_TASK_CLASS} {
    #caller;
    constructor(caller) { this.#caller = caller; }
    enterSync() { return true; }
    componentIdx() { return -1; }
    id() { return this.#caller.id(); }
    getParentSubtask() { return undefined; }
    setErrored() {}
    reject(err) { this.#caller.reject(err); }
    resolve() {}
    exit() {}
  }
  function ${SPINEL_CALL_HOST}(args) { return args.fn(); }
  function ${SPINEL_LOWER_SYNC}(args, ...params) {
    const { componentIdx, importFn } = args;
    _checkMayLeave(componentIdx);
    const current = CURRENT_TASK_META[componentIdx];
    const task = current === undefined || current === null ? undefined : getCurrentTask(componentIdx, current.taskID)?.task;
    if (args.isAsync || args.isManualAsync || args.funcTypeIsAsync || task === undefined || !task.isSync() || task.isManualAsync() || task.isResolvedState()) {
      return _lowerImportBackwardsCompat(args, ...params);
    }
    task.setReturnMemoryIdx(args.memoryIdx);
    task.setReturnMemory(args.getMemoryFn());
    return importFn.apply(task, params);
  }
`;

/** Where each trampoline's text ends: the line naming it (`_trampolineN.fnName = ...`). */
function trampolineBodies(source: string): Array<{ name: string; start: number; end: number }> {
  const bodies: Array<{ name: string; start: number; end: number }> = [];
  for (const match of source.matchAll(TRAMPOLINE_START)) {
    const name = match[2] as string;
    const end = source.indexOf(`\n${match[1]}${name}.fnName = `, match.index);
    if (end === -1) continue;
    bodies.push({ name, start: match.index, end });
  }
  return bodies;
}

/** Why a trampoline body cannot take the stand-in, or undefined when it can. */
function refuseTrampoline(body: string): string | undefined {
  const creation = TASK_CREATION.exec(body);
  if (creation === null) return 'its task-making block is not the sync host-provided shape';
  if (TASK_CREATION.test(body.slice(creation.index + creation[0].length))) return 'it makes more than one task';
  if (/\bthis\b/.test(body)) return 'it uses this';
  const labels = body.match(/\btaskCreation: \{/g) ?? [];
  if (labels.length !== 1) return 'it has no single taskCreation block';
  const blockEnd = body.indexOf('const started = task.enterSync();', creation.index);
  if (blockEnd === -1) return 'it does not enter its task with enterSync() after making it';
  const after = body.slice(blockEnd);
  if (/\b(parentTask|subtask)\b/.test(after)) return 'it uses parentTask or subtask after making its task';
  for (const [, method] of after.matchAll(/\btask\.(\w+)\b/g)) {
    if (!STAND_IN_METHODS.has(method as string)) return `it calls task.${method}, which the stand-in lacks`;
  }
  if (/\btask\b(?!\.)/.test(after.replace(/\btask\.\w+/g, ''))) return 'it uses its task other than by calling a method';
  if ((after.match(/\b_withGlobalCurrentTaskMeta\(\{/g) ?? []).length !== 1) return 'it does not call its host function through _withGlobalCurrentTaskMeta once';
  return undefined;
}

const LOWER = '_lowerImportBackwardsCompat';

/**
 * Where `_trampolineN`'s binding names jco's lowerer in its sync branch, or why it cannot be
 * patched. jco 1.35 binds each lowered import once, as
 * `let trampolineN = _trampolineN.manuallyAsync ? new WebAssembly.Suspending(_suspendingImport(0,
 * _lowerImportBackwardsCompat.bind(null, {...}))) : _lowerImportBackwardsCompat.bind(null, {...});`
 * with the same options in both branches; only the second (taken unless the import was declared
 * async at transpile) is rebound.
 */
function syncBinding(source: string, name: string): number | string {
  const head = `let ${name.slice(1)} = ${name}.manuallyAsync ? new WebAssembly.Suspending(_suspendingImport(`;
  const start = source.indexOf(head);
  if (start === -1) return 'no binding of the known shape';
  if (source.indexOf(head, start + head.length) !== -1) return 'more than one binding';
  const tail = `importFn: ${name},\n  },\n  );`;
  const end = source.indexOf(tail, start);
  if (end === -1) return 'its binding does not end as known';
  const split = source.indexOf(`))) : ${LOWER}.bind(`, start);
  if (split === -1 || split > end) return 'its binding has no sync branch through _lowerImportBackwardsCompat';
  const options = source.slice(split, end);
  const opening = new RegExp(`^\\)\\)\\) : ${LOWER}\\.bind\\(\\n  null,\\n  \\{\\n    trampolineIdx: \\d+,\\n    componentIdx: \\d+,\\n    isAsync: false,\\n    isManualAsync: ${name}\\.manuallyAsync,\\n`);
  if (!opening.test(options)) return 'its sync branch does not open as known (isAsync: false, isManualAsync from the trampoline)';
  if ((options.match(/\n {4}funcTypeIsAsync: false,\n/g) ?? []).length !== 1) return 'its function type is not marked sync once';
  return split + '))) : '.length;
}

/**
 * The glue with sync imports of sync tasks lowered through the short path described above.
 * @returns the patched source and how many imports it covers, or why the glue was left alone
 */
export function patchGlueSyncCalls(source: string): GlueSyncCallPatch {
  if (source.includes(SPINEL_LOWER_SYNC) || source.includes(SPINEL_HOST_TASK_CLASS) || source.includes(SPINEL_CALL_HOST)) return { ok: false, reason: 'the glue already uses the names the patch adds' };
  const lower = [...source.matchAll(new RegExp(LOWER_DECLARATION.source, 'gm'))];
  if (lower.length !== 1) return { ok: false, reason: 'the glue does not declare _lowerImportBackwardsCompat once' };
  for (const name of ['_checkMayLeave', 'getCurrentTask', 'createNewCurrentTask']) {
    if (!new RegExp(`^[ \\t]*function ${name}\\(`, 'm').test(source)) return { ok: false, reason: `the glue does not declare ${name}` };
  }
  if (!/^[ \t]*const CURRENT_TASK_META = \{\};$/m.test(source)) return { ok: false, reason: 'the glue does not declare CURRENT_TASK_META' };
  if (!TASK_CLASS.test(source)) return { ok: false, reason: 'the glue does not declare AsyncTask' };
  for (const method of ['isSync', 'isManualAsync', 'isResolvedState', 'setReturnMemoryIdx', 'setReturnMemory', 'reject', 'id']) {
    if (!new RegExp(`^[ \\t]*${method}\\([^)]*\\) \\{`, 'm').test(source)) return { ok: false, reason: `AsyncTask has no ${method}()` };
  }

  const skipped: Record<string, string> = {};
  const edits: Array<{ at: number; remove: number; insert: string }> = [];
  let patched = 0;
  for (const { name, start, end } of trampolineBodies(source)) {
    const body = source.slice(start, end);
    const found = syncBinding(source, name);
    if (typeof found === 'string') {
      skipped[name] = found;
      continue;
    }
    const refused = refuseTrampoline(body);
    if (refused !== undefined) {
      skipped[name] = refused;
      continue;
    }
    const label = body.indexOf('taskCreation: {');
    edits.push({ at: start + label + 'taskCreation: {'.length, remove: 0, insert: ` if (this instanceof AsyncTask) { task = new ${SPINEL_HOST_TASK_CLASS}(this); break taskCreation; }` });
    // On the short path the host function is called without marking the host task current: the
    // mark is read only by glue run from inside a host function (a host calling back into the
    // guest), which a sync component's host never does.
    const meta = body.indexOf('_withGlobalCurrentTaskMeta({', body.indexOf('const started = task.enterSync();'));
    edits.push({ at: start + meta, remove: '_withGlobalCurrentTaskMeta'.length, insert: `(task instanceof ${SPINEL_HOST_TASK_CLASS} ? ${SPINEL_CALL_HOST} : _withGlobalCurrentTaskMeta)` });
    edits.push({ at: found, remove: LOWER.length, insert: SPINEL_LOWER_SYNC });
    patched++;
  }
  if (patched === 0) return { ok: false, reason: `no import binding has the known shape (${Object.entries(skipped).map(([n, r]) => `${n}: ${r}`).join('; ') || 'no trampolines'})` };
  const declaration = (lower[0] as RegExpMatchArray).index as number;
  edits.push({ at: declaration, remove: 0, insert: `${HELPERS}\n` });
  let out = source;
  for (const edit of edits.sort((a, b) => b.at - a.at)) out = out.slice(0, edit.at) + edit.insert + out.slice(edit.at + edit.remove);
  return { ok: true, source: out, patched, skipped };
}
