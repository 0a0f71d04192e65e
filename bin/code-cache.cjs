// Runs dist/bundle/main.cjs (the CLI as one CommonJS file, scripts/bundle.js), and quick-publish.cjs, with a V8 code
// cache, so that a long command (sync, plan, seed, serve, ...) does not compile the same
// JavaScript at every start: Node 20 has no module.enableCompileCache, but vm.Script takes
// cachedData. The cache is made at the end of a run that found none (createCachedData() then
// includes every function the run compiled lazily, not only the top level), and used by the
// runs after it.
//
// Where: $XDG_CACHE_HOME/isosync (else ~/.cache/isosync), one file per bundle path and V8
// flags, written atomically (temporary file, then rename). Its first line is the key: Node's
// version, the architecture, the bundle's content hash (its own first line, written by
// scripts/bundle.js), the flags of the run (node's own and those bin/isosync sets). A file
// with another key is stale and made again; V8 itself rejects data made under other flags or
// another V8 (script.cachedDataRejected), and the run then compiles as without a cache.
// The second line names the commands whose runs made the data: a run of another command
// (`releases` compiles little of what `sync` needs) writes it again at its end, with the
// functions it compiled added to those it found in the cache, so the cache grows to cover
// every command used (at most 16 such rewrites).
// ISOSYNC_CODE_CACHE=0 turns it off; ISOSYNC_CODE_CACHE_DEBUG=1 prints what it did on stderr.
// Nothing here may fail a run: every error of the cache is ignored.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

/** A short hash of a string (FNV-1a, 32 bits): a file name, not a check. */
function fnv(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

function cacheDir(env) {
  if (env.ISOSYNC_CODE_CACHE === '0') return undefined;
  const base = env.XDG_CACHE_HOME || (env.HOME ? path.join(env.HOME, '.cache') : '');
  return path.isAbsolute(base) ? path.join(base, 'isosync') : undefined;
}

/**
 * Loads `file` (a CommonJS bundle whose first line is `// isosync-bundle HASH`) and returns its
 * exports. `flags`: the V8 flags bin/isosync set before, part of the key; `command`: the
 * command's name (a word: no spaces).
 */
exports.loadMain = function loadMain(file, flags, command) {
  const env = process.env;
  const debug = env.ISOSYNC_CODE_CACHE_DEBUG === '1' ? (m) => process.stderr.write(`isosync code cache: ${m}\n`) : () => {};
  const src = fs.readFileSync(file, 'utf8');
  const dir = cacheDir(env);
  const head = src.slice(0, src.indexOf('\n'));
  const key = `${process.version} ${process.arch} ${head} ${process.execArgv.join(' ')} ${env.NODE_OPTIONS ?? ''} ${flags}\n`;
  const cacheFile = dir && head.startsWith('// isosync-bundle ') ? path.join(dir, `main-${fnv(`${file}\0${key}`)}.v8cache`) : undefined;
  const keyBuf = Buffer.from(key);
  let cachedData;
  let commands = [];
  if (cacheFile) {
    try {
      const buf = fs.readFileSync(cacheFile);
      const end = buf.indexOf(0x0a, keyBuf.length) + 1;
      if (end > 0 && buf.subarray(0, keyBuf.length).equals(keyBuf)) {
        commands = buf.toString('utf8', keyBuf.length, end - 1).split(' ').filter(Boolean);
        cachedData = buf.subarray(end);
      } else debug('stale');
    } catch {}
  }
  const script = new vm.Script(Module.wrap(src), {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const state = cachedData === undefined ? 'miss' : script.cachedDataRejected ? 'rejected' : 'hit';
  debug(state);
  if (state !== 'hit') commands = [];
  const known = commands.includes(command) || commands.length >= 16;
  if (cacheFile && !known) {
    commands.push(command);
    process.once('exit', () => {
      // A server that went back to V8's default flags (core/long-running.ts) would write data
      // that the next run, under bin/isosync's flags, rejects.
      if (globalThis[Symbol.for('isosync.v8FlagsChanged')]) return debug('not written: flags changed');
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        const data = script.createCachedData();
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        fs.writeFileSync(tmp, Buffer.concat([keyBuf, Buffer.from(`${commands.join(' ')}\n`), data]), { mode: 0o600 });
        fs.renameSync(tmp, cacheFile);
        debug(`written ${cacheFile}`);
      } catch (e) {
        try { fs.unlinkSync(tmp); } catch {}
        debug(`not written: ${e && e.code ? e.code : e}`);
      }
    });
  }
  const mod = { exports: {}, filename: file, id: file, loaded: false };
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  mod.loaded = true;
  return mod.exports;
};
