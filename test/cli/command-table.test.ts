/**
 * The lazy command table (src/cli/commands/index.ts): each run loads only
 * its own command's module, so the table must name exactly the commands
 * each module adds, and a program built from one module must parse that
 * command alone.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildProgram } from '../../src/cli/main.js';
import { COMMANDS, commandModule, loadCommands } from '../../src/cli/commands/index.js';

describe('the lazy command table', () => {
  test('each entry names exactly the commands its module registers', async () => {
    for (const entry of COMMANDS) {
      const program = buildProgram(await loadCommands([entry]));
      assert.deepEqual(program.commands.map((c) => c.name()).sort(), [...entry.names].sort(), entry.names.join(', '));
    }
  });

  test('no two entries name the same command, and every command is listed once in help order', async () => {
    const names = COMMANDS.flatMap((c) => c.names);
    assert.equal(new Set(names).size, names.length);
    const all = buildProgram(await loadCommands());
    assert.deepEqual(all.commands.map((c) => c.name()), names);
  });

  test('a name finds its module; other words find none', () => {
    assert.deepEqual(commandModule('umount')?.names, ['mount', 'umount']);
    assert.deepEqual(commandModule('manpage')?.names, ['completion', 'manpage']);
    assert.equal(commandModule('distro.iso'), undefined);
  });
});
