/**
 * commander, loaded as the CommonJS package it is. Imported from ESM, Node
 * first parses its source for named exports (cjs-module-lexer) and wraps it
 * in a module facade; `require` skips both, which is most of what commander
 * costs a quick command's start-up (`npm run bench -- startup`). Every CLI
 * module takes commander's values from here; its types come along.
 */
import { createRequire } from 'node:module';
import type * as C from 'commander';

const commander = createRequire(import.meta.url)('commander') as typeof C;

export const Command = commander.Command;
export type Command = C.Command;
export const CommanderError = commander.CommanderError;
export type CommanderError = C.CommanderError;
export const Option = commander.Option;
export type Option = C.Option;
