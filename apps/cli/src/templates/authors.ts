import { execFile } from 'node:child_process';

/**
 * The `authors` and `username` template values, found as Spin finds them (after cargo):
 * name from GIT_AUTHOR_NAME, GIT_COMMITTER_NAME, git's user.name, then USER/USERNAME/NAME;
 * email from GIT_AUTHOR_EMAIL, GIT_COMMITTER_EMAIL, EMAIL, then git's user.email.
 * `authors` is `Name <email>` (or just the name); both are empty when no name is found.
 */
export async function discoverAuthors(env: NodeJS.ProcessEnv = process.env): Promise<{ author: string; username: string }> {
  const fromEnv = (names: readonly string[]): string | undefined => names.map((n) => env[n]).find((v): v is string => v !== undefined && v !== '');
  let gitConfig: Map<string, string> | undefined;
  const git = async (key: string): Promise<string | undefined> => {
    gitConfig ??= await readGitConfig(env);
    return gitConfig.get(key);
  };
  const name = fromEnv(['GIT_AUTHOR_NAME', 'GIT_COMMITTER_NAME']) ?? (await git('user.name')) ?? fromEnv(['USER', 'USERNAME', 'NAME']);
  if (name === undefined) return { author: '', username: '' };
  let email = fromEnv(['GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_EMAIL', 'EMAIL']) ?? (await git('user.email'));
  email = email?.trim();
  if (email !== undefined && email.startsWith('<') && email.endsWith('>')) email = email.slice(1, -1);
  const trimmed = name.trim();
  return { author: email === undefined || email === '' ? trimmed : `${trimmed} <${email}>`, username: trimmed };
}

function readGitConfig(env: NodeJS.ProcessEnv): Promise<Map<string, string>> {
  return new Promise((resolve) => {
    execFile('git', ['config', '--list'], { env, timeout: 5_000 }, (err, stdout) => {
      const map = new Map<string, string>();
      if (err === null) {
        for (const line of stdout.split('\n')) {
          const eq = line.indexOf('=');
          if (eq > 0) map.set(line.slice(0, eq), line.slice(eq + 1));
        }
      }
      resolve(map);
    });
  });
}
