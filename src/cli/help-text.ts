/**
 * The words of `isosync --help`, `isosync COMMAND --help` and the man page
 * (man-page.ts) that commander cannot derive from the options: examples,
 * environment variables, exit codes. One place, so the three agree.
 */

export const EXAMPLES: Record<string, readonly [string, string][]> = {
  '': [
    ['isosync http://mirror.example/distro-1.01.iso', 'upgrade: rebuild 1.01 from the 1.00 on disk, fetch only what changed'],
    ['isosync distro-1.00.iso.torrent', 'roll back: the same command with the older torrent'],
    ['isosync publish distro-1.01.iso --product distro --release 1.01', 'make the release torrent (with hints against 1.00)'],
    ['isosync serve /srv/mirror --host 0.0.0.0', 'serve a mirror: files, torrents, tracker, seed, /status'],
    ['isosync follow https://mirror.example/feeds/distro && isosync update --yes', 'stay on the newest signed release'],
  ],
  sync: [
    ['isosync sync distro-1.01.iso.torrent --from distro-1.00.iso', 'build 1.01 from 1.00, fetching the rest'],
    ['isosync http://mirror.example/distro-1.01.iso -o /tmp/new.iso', 'sync by URL, write to another place'],
    ['isosync sync x.iso.torrent --download-limit 5M --mirror http://m2.example/pub/', 'limit the rate, add a mirror'],
  ],
  plan: [['isosync plan distro-1.01.iso.torrent --from distro-1.00.iso', 'what would be reused and fetched']],
  publish: [
    ['isosync publish distro-1.01.iso --product distro --release 1.01', 'writes distro-1.01.iso.torrent beside the image'],
    ['isosync publish distro-1.01.iso --product distro --release 1.01 --out-dir /srv/mirror --public-url https://mirror.example/', 'lay out a static mirror'],
    ['isosync publish distro-1.01.iso --product distro --release 1.01 --out-dir /srv/mirror --sign distro.key', 'sign it and add it to /srv/mirror/feeds/distro'],
    ['isosync publish distro-1.02.iso --product distro --release 1.02 --out-dir /srv/mirror --sign new.key --rotate-from distro.key', 'move the feed to a new key'],
  ],
  keygen: [['isosync keygen -o distro.key', 'a publisher key; prints the public key for followers']],
  follow: [
    ['isosync follow https://mirror.example/feeds/distro --key ed25519:MYNKgpsp1Q4NN8ZCjFk27ueSbMZLeDOdh1BgvmdBEdI', 'follow, requiring the key the distro announces'],
    ['isosync follow https://mirror.example/feeds/distro', 'follow, pinning the feed\'s key on first use'],
  ],
  update: [
    ['isosync update --yes', 'bring every followed product to its newest release'],
    ['isosync update distro --dir /srv/images --keep 2', 'one product, show the diff and ask; keep two older releases'],
  ],
  rollback: [
    ['isosync rollback distro', 'back to the release before the one in use'],
    ['isosync rollback distro --to 1.00', 'back to 1.00, rebuilt from the images on disk'],
  ],
  status: [['isosync status', 'what this machine follows, has, and could update to']],
  info: [
    ['isosync info distro-1.01.iso.torrent', 'what a torrent holds'],
    ['isosync info http://mirror.example/distro-1.01.iso', 'the torrent a server offers for an image'],
  ],
  releases: [['isosync releases distro', 'the releases of "distro" in the catalog, newest first']],
  serve: [
    ['isosync serve /srv/mirror --listing --access-log /var/log/isosync.log', 'a mirror with a listing and a request log'],
    ['isosync serve /srv/mirror --host 0.0.0.0 --public-url https://mirror.example', 'serve to the network'],
  ],
  seed: [
    ['isosync seed distro-1.01.iso.torrent distro-1.01.iso --port 6881', 'seed an image until Ctrl-C'],
    ['isosync seed --follow distro --host 0.0.0.0', 'seed each release update fetches, and the previous one'],
  ],
  tracker: [['isosync tracker --host 0.0.0.0 --udp', 'a tracker alone, HTTP and UDP on port 6969']],
  ls: [['isosync ls distro-1.01.iso', 'the files of an image']],
  regions: [['isosync regions distro-1.01.iso', 'what every sector holds']],
  extract: [['isosync extract distro-1.01.iso "pool/**/*.deb" -o debs', 'extract the packages']],
  diff: [['isosync diff distro-1.00.iso distro-1.01.iso.torrent', 'the packages a release changes, before downloading it']],
  apply: [['isosync apply distro-1.01.iso --root /tmp/root', 'install the changed packages into a throwaway root']],
  mount: [['isosync mount distro-1.01.iso /mnt/distro', 'mount read-only (root only)']],
  completion: [
    ['isosync completion bash > /etc/bash_completion.d/isosync', 'bash'],
    ['isosync completion zsh > "${fpath[1]}/_isosync"', 'zsh'],
    ['isosync completion fish > ~/.config/fish/completions/isosync.fish', 'fish'],
  ],
  demo: [['isosync demo', 'publish, upgrade and roll back on the bundled fixtures']],
};

export const ENVIRONMENT: readonly [string, string][] = [
  ['ISOSYNC_HOME', 'the catalog folder (default $XDG_DATA_HOME/isosync, else ~/.local/share/isosync); --home overrides it'],
  ['XDG_DATA_HOME', 'where the default catalog folder lives'],
  ['ISOSYNC_DEBUG', 'set to 1: print stack traces on failure, like --debug'],
  ['ISOSYNC_CODE_CACHE', 'set to 0: keep no compiled-code cache of the CLI (default: in $XDG_CACHE_HOME/isosync, else ~/.cache/isosync)'],
  ['SOURCE_DATE_EPOCH', 'publish: the creation date written in the torrent (reproducible builds)'],
  ['NODE_EXTRA_CA_CERTS', 'more trusted CA certificates (a PEM file) for https web seeds, trackers, feeds and URLs; the isosync command reads it on its first https request, not at every start'],
];

export const EXIT_CODES: readonly [string, string][] = [
  ['0', 'success'],
  ['1', 'a failure: network, disk, verification, no source left'],
  ['2', 'bad input: an unknown command or option, a malformed argument, torrent or image, a missing file, a conflict'],
  ['3, 4, 5', 'update, follow, rollback: nothing to do, refused (a bad signature, replay or expiry), update available but not applied (isosync update --help)'],
  ['130', 'interrupted (Ctrl-C); a sync keeps its .part and resumes when run again'],
];

export const SIZES = 'SIZE and RATE: bytes, or with a binary unit: 500k, 5M, 5MiB, 1.5G (k = 1024); a RATE may end in /s.';

function table(rows: readonly [string, string][], indent = 2): string {
  const w = rows.reduce((n, [k]) => Math.max(n, k.length), 0);
  return rows.map(([k, v]) => `${' '.repeat(indent)}${k.padEnd(w)}  ${v}`).join('\n');
}

/** Whether `isosync [COMMAND] --help` has text after the options (helpFooter is not empty). */
export function hasHelpFooter(command: string): boolean {
  return command === '' || (EXAMPLES[command] ?? []).length > 0;
}

/** Text after the options in `isosync [COMMAND] --help`. */
export function helpFooter(command: string): string {
  const ex = EXAMPLES[command] ?? [];
  const parts: string[] = [];
  if (ex.length > 0) parts.push(`Examples:\n${ex.map(([c, d]) => `  ${c}\n      ${d}`).join('\n')}`);
  if (command === '') {
    parts.push(SIZES);
    parts.push(`Environment:\n${table(ENVIRONMENT)}`);
    parts.push(`Exit codes:\n${table(EXIT_CODES)}`);
    parts.push('Run "isosync COMMAND --help" for a command\'s options; "man isosync" for the manual.');
  }
  return `\n${parts.join('\n\n')}\n`;
}
