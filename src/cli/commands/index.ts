/**
 * Every command module, in the order `isosync --help` lists them. Each exports
 * `register(program)`, which adds its subcommand.
 */
import type { Command } from 'commander';
import { register as ls } from './ls.js';
import { register as regions } from './regions.js';
import { register as extract } from './extract.js';
import { register as get } from './get.js';
import { register as publish } from './publish.js';
import { register as info } from './info.js';
import { register as releases } from './releases.js';
import { registerPlan as plan, registerSync as sync } from './sync.js';
import { register as diff } from './diff.js';
import { register as apply } from './apply.js';
import { register as mount } from './mount.js';
import { register as demo } from './demo.js';
import { register as serve } from './serve.js';
import { register as seed } from './seed.js';
import { register as tracker } from './tracker.js';
import { register as keygen } from './keygen.js';
import { register as follow } from './follow.js';
import { register as update } from './update.js';
import { register as rollback } from './rollback.js';
import { register as status } from './status.js';
import { register as completion } from './completion.js';
import { register as remaster } from './remaster.js';

export type Register = (program: Command) => void;

export const COMMANDS: Register[] = [sync, plan, get, publish, remaster, info, releases, keygen, follow, update, rollback, status, ls, regions, extract, diff, apply, mount, serve, seed, tracker, completion, demo];
