import { Args, Flags } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';

/** What `registry login --json` prints (never the password). */
export interface LoginJson {
  server: string;
  username: string;
  authFile: string;
}

export class RegistryLogin extends SpinelCommand {
  static override summary = 'Log in to an OCI registry.';
  static override description =
    'Checks the user name and password against the registry (Basic or token authentication, whichever it asks for) and only then stores them in $XDG_CONFIG_HOME/spinel/registry-auth.json (Docker config.json format, mode 0600). Credentials from Spin\'s registry-auth.json and Docker\'s config.json (credHelpers, auths, credsStore) are used without logging in.';
  static override aliases = ['oci:login'];
  static override examples = [
    'echo "$TOKEN" | <%= config.bin %> registry login -u me --password-stdin ghcr.io',
    '<%= config.bin %> registry login -u admin -p secret localhost:5000',
  ];

  static override args = {
    server: Args.string({ required: true, description: 'Registry server (ghcr.io, localhost:5000; a URL keeps only its host).' }),
  };

  static override flags = {
    username: Flags.string({ char: 'u', description: 'User name. Asked for on a terminal when missing.' }),
    password: Flags.string({ char: 'p', description: 'Password or token. Prefer --password-stdin: a flag can be seen by other users of the machine.', exclusive: ['password-stdin'] }),
    'password-stdin': Flags.boolean({ description: 'Read the password from standard input (one trailing newline is removed).', default: false, exclusive: ['password'] }),
    insecure: Flags.boolean({ char: 'k', description: 'Use plain HTTP for the registry. Loopback registries use HTTP anyway.', default: false }),
  };

  async run(): Promise<LoginJson> {
    const { args, flags } = await this.parse(RegistryLogin);
    const oci = await import('@spinel/oci');
    const server = oci.normaliseServer(args.server);
    const username = flags.username ?? (await prompt('Username: ', false));
    if (username === undefined || username.length === 0) {
      throw new oci.LoginInputError('no user name given: pass -u/--username (no terminal to ask on).');
    }
    let password: string | undefined = flags.password;
    if (flags['password-stdin']) password = (await readAll(process.stdin)).replace(/\r?\n$/, '');
    password ??= await prompt('Password: ', true);
    if (password === undefined || password.length === 0) {
      throw new oci.LoginInputError('no password given: pass --password-stdin (or -p), or run on a terminal to be asked.');
    }
    const { spinelAuthFile } = oci.defaultCredentialPaths(process.env);
    const result = await oci.login({ server, username, password, authFile: spinelAuthFile, insecure: flags.insecure });
    this.log(`Successfully logged in as ${result.username} to registry ${result.server}`);
    return result;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Ask on the terminal; `undefined` without one. A hidden prompt echoes nothing. */
async function prompt(question: string, hidden: boolean): Promise<string | undefined> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (hidden) {
    const internal = rl as unknown as { _writeToOutput: (s: string) => void };
    let asked = false;
    internal._writeToOutput = (s: string) => {
      if (!asked) {
        process.stderr.write(s);
        asked = true;
      }
    };
  }
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    if (hidden) process.stderr.write('\n');
    rl.close();
  }
}
