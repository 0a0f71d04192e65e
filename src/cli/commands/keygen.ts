/**
 * `isosync keygen -o KEYFILE`: a new Ed25519 publisher key. The secret key
 * goes to KEYFILE (PKCS#8 PEM, mode 0600), the public key to KEYFILE.pub and
 * to stdout as one short string (`ed25519:...`), the form `follow --key`
 * takes. Thin: src/feed/keys.ts and key-file.ts do it.
 */
import type { Command } from 'commander';
import { detail } from '../output.js';
import { writeKeyFiles } from '../../feed/key-file.js';
import { generateSecretKey } from '../../feed/keys.js';
import { action, printJson, withCommon, type CommonOptions } from '../common.js';

interface KeygenOptions extends CommonOptions {
  output: string;
  force?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('keygen')
    .description('make an Ed25519 publisher key: the secret key in KEYFILE (mode 0600), the public key printed and in KEYFILE.pub')
    .requiredOption('-o, --output <keyfile>', 'where to write the secret key')
    .option('--force', 'replace an existing key file (the old key is lost)')
    .addHelpText('after', '\nGive the printed public key to followers (isosync follow URL --key KEY); sign releases with publish --sign KEYFILE.\n');
  withCommon(cmd).action(
    action(async (opts: KeygenOptions) => {
      const key = generateSecretKey();
      const pub = writeKeyFiles(opts.output, key, opts.force ?? false);
      if (opts.json) printJson({ publicKey: key.publicKey.id, secretKeyFile: opts.output, publicKeyFile: pub });
      else {
        process.stdout.write(`${key.publicKey.id}\n`);
        detail(`wrote the secret key to ${opts.output} (mode 0600; keep it safe) and the public key to ${pub}`);
      }
    }),
  );
}
