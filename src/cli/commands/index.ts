/**
 * Every command module, in the order `isosync --help` lists them. Each exports
 * `register(program)`, which adds its subcommand.
 */
import type { Command } from 'commander';

export type Register = (program: Command) => void;

export const COMMANDS: Register[] = [];
