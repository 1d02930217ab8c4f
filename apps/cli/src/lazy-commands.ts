import type { Command, Config } from '@oclif/core';

type Loader = () => Promise<Command.Class>;

/**
 * How to import each command, by oclif id. oclif reads command ids, flags and help from
 * `oclif.manifest.json` (written at build time from {@link ../commands.ts}'s classes), so a
 * command's module, and the libraries it imports, load only when that command runs.
 * A test checks that this map and `COMMANDS` name the same ids.
 */
const LOADERS: Record<string, Loader> = {
  lock: async () => (await import('./commands/manifest/lock.js')).Lock,
  build: async () => (await import('./commands/manifest/build.js')).Build,
  doctor: async () => (await import('./commands/manifest/doctor.js')).Doctor,
  'cache:dir': async () => (await import('./commands/cache/dir.js')).CacheDir,
  'cache:list': async () => (await import('./commands/cache/list.js')).CacheList,
  'cache:size': async () => (await import('./commands/cache/size.js')).CacheSize,
  'cache:verify': async () => (await import('./commands/cache/verify.js')).CacheVerify,
  'cache:prune': async () => (await import('./commands/cache/prune.js')).CachePrune,
  'cache:clean': async () => (await import('./commands/cache/clean.js')).CacheClean,
  'kv:get': async () => (await import('./commands/kv/get.js')).KvGet,
  'kv:set': async () => (await import('./commands/kv/set.js')).KvSet,
  'kv:delete': async () => (await import('./commands/kv/delete.js')).KvDelete,
  'kv:list': async () => (await import('./commands/kv/list.js')).KvList,
  'sqlite:query': async () => (await import('./commands/sqlite/query.js')).SqliteQuery,
  'sqlite:exec': async () => (await import('./commands/sqlite/exec.js')).SqliteExec,
  'kube:scaffold': async () => (await import('./commands/kube/scaffold.js')).KubeScaffold,
  'registry:push': async () => (await import('./commands/registry/push.js')).RegistryPush,
  'registry:pull': async () => (await import('./commands/registry/pull.js')).RegistryPull,
  'registry:run': async () => (await import('./commands/registry/run.js')).RegistryRun,
  'registry:login': async () => (await import('./commands/registry/login.js')).RegistryLogin,
  'registry:logout': async () => (await import('./commands/registry/logout.js')).RegistryLogout,
  up: async () => (await import('./commands/up/up.js')).Up,
  new: async () => (await import('./commands/new/new.js')).New,
  add: async () => (await import('./commands/new/add.js')).Add,
  'templates:install': async () => (await import('./commands/templates/install.js')).TemplatesInstall,
  'templates:list': async () => (await import('./commands/templates/list.js')).TemplatesList,
  'templates:uninstall': async () => (await import('./commands/templates/uninstall.js')).TemplatesUninstall,
  'templates:upgrade': async () => (await import('./commands/templates/upgrade.js')).TemplatesUpgrade,
  watch: async () => (await import('./commands/watch/watch.js')).Watch,
};

/** oclif runs a command through its class's static `run`; this one imports the real class first. */
function lazyCommand(load: Loader): Command.Class {
  return class LazyCommand {
    static async run(argv: string[], config: Config): Promise<unknown> {
      return (await load()).run(argv, config);
    }
  } as unknown as Command.Class;
}

/** The command map oclif's `explicit` discovery reads at run time: one stub per id. */
export const COMMANDS: Record<string, Command.Class> = Object.fromEntries(Object.entries(LOADERS).map(([id, load]) => [id, lazyCommand(load)]));
