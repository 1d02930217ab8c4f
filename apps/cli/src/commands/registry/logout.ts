import { Args } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';

/** What `registry logout --json` prints. */
export interface LogoutJson {
  server: string;
  removed: boolean;
  authFile: string;
}

export class RegistryLogout extends SpinelCommand {
  static override summary = 'Log out of an OCI registry.';
  static override description =
    'Removes the stored credentials for the server from $XDG_CONFIG_HOME/spinel/registry-auth.json. Spin\'s and Docker\'s files are never changed; credentials found there are still used.';
  static override aliases = ['oci:logout'];
  static override examples = ['<%= config.bin %> registry logout ghcr.io'];

  static override args = {
    server: Args.string({ required: true, description: 'Registry server (ghcr.io, localhost:5000).' }),
  };

  async run(): Promise<LogoutJson> {
    const { args } = await this.parse(RegistryLogout);
    const oci = await import('@spinel/oci');
    const paths = oci.defaultCredentialPaths(process.env);
    const result = await oci.logout({ server: args.server, authFile: paths.spinelAuthFile });
    this.log(result.removed ? `Removed login credentials for ${result.server}` : `Not logged in to ${result.server}`);
    // Spin's file is read only for us: say so when it still holds credentials for this server.
    const spin = await oci.createCredentialResolver({ spinAuthFile: paths.spinAuthFile }).get(result.server).catch(() => undefined);
    if (spin !== undefined) this.log(`Spin's ${paths.spinAuthFile} still has credentials for ${result.server}; remove them with \`spin registry\` tools or by editing that file.`);
    return { ...result, authFile: paths.spinelAuthFile };
  }
}
