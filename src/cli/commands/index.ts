/**
 * Every command, in the order `isosync --help` lists them, as a name table
 * whose modules load on demand: a run loads only the module of its own
 * command (`isosync info` never loads the swarm, the ISO reader or SQLite),
 * and start-up stays near Node's own. Each module exports a register
 * function, which adds its subcommand(s); `names` lists every command it
 * adds (a test checks that they agree).
 */
import type { Command } from 'commander';

export type Register = (program: Command) => void;

export interface CommandModule {
  /** The commands the module adds (hidden ones too). */
  readonly names: readonly string[];
  load(): Promise<Register>;
}

export const COMMANDS: readonly CommandModule[] = [
  { names: ['sync'], load: async () => (await import('./sync.js')).registerSync },
  { names: ['plan'], load: async () => (await import('./sync.js')).registerPlan },
  { names: ['get'], load: async () => (await import('./get.js')).register },
  { names: ['publish'], load: async () => (await import('./publish.js')).register },
  { names: ['remaster'], load: async () => (await import('./remaster.js')).register },
  { names: ['info'], load: async () => (await import('./info.js')).register },
  { names: ['releases'], load: async () => (await import('./releases.js')).register },
  { names: ['keygen'], load: async () => (await import('./keygen.js')).register },
  { names: ['follow'], load: async () => (await import('./follow.js')).register },
  { names: ['update'], load: async () => (await import('./update.js')).register },
  { names: ['rollback'], load: async () => (await import('./rollback.js')).register },
  { names: ['status'], load: async () => (await import('./status.js')).register },
  { names: ['ls'], load: async () => (await import('./ls.js')).register },
  { names: ['regions'], load: async () => (await import('./regions.js')).register },
  { names: ['extract'], load: async () => (await import('./extract.js')).register },
  { names: ['diff'], load: async () => (await import('./diff.js')).register },
  { names: ['apply'], load: async () => (await import('./apply.js')).register },
  { names: ['mount', 'umount'], load: async () => (await import('./mount.js')).register },
  { names: ['serve'], load: async () => (await import('./serve.js')).register },
  { names: ['seed'], load: async () => (await import('./seed.js')).register },
  { names: ['tracker'], load: async () => (await import('./tracker.js')).register },
  { names: ['completion', 'manpage'], load: async () => (await import('./completion.js')).register },
  { names: ['demo'], load: async () => (await import('./demo.js')).register },
];

/** The module that adds command `name`, if any. */
export function commandModule(name: string): CommandModule | undefined {
  return COMMANDS.find((c) => c.names.includes(name));
}

/** Loads the register functions of `modules` (every command when omitted), in table order. */
export function loadCommands(modules: readonly CommandModule[] = COMMANDS): Promise<Register[]> {
  return Promise.all(COMMANDS.filter((c) => modules.includes(c)).map((c) => c.load()));
}
