// Builds one JavaScript guest with componentize-js, fixing two bugs of its
// 0.23.0 bindings first. The workspace build (examples/build/js.rs) runs it:
//
//     node componentize.mjs --tools <dir> --wit <dir> --world <world> --out <file> <source.js>
//
// `--tools` is the folder `npm ci` installed package.json's pins into.
//
// The bugs: the engine (embedding.cpp) reads a u32 that crosses the ABI in a
// core-wasm value with `JS::Value::toInt32()`, which is only right for a
// value stored as an int32, but the bindings produce it with `val >>> 0`, a
// double from 2^31 on: the value arrives as the low bits of the double
// (`echo-u32(4294967295)` returns 4292870144). And it reads a 64-bit integer
// with `BigIntIsUint64`, which rejects a negative BigInt, but the bindings
// produce an s64 with `BigInt.asIntN`: any negative s64 traps
// (github.com/bytecodealliance/ComponentizeJS/issues/343). Both hit
// function results and arguments of imported functions. The fix produces the
// same bits in the form the engine reads: `val | 0` and `BigInt.asUintN`.
// The stores into memory that use the same helpers wrap either form.

import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args, positionals } = parseArgs({
  options: {
    tools: { type: 'string' },
    wit: { type: 'string' },
    world: { type: 'string' },
    out: { type: 'string' },
  },
  allowPositionals: true,
});
if (!args.tools || !args.wit || !args.world || !args.out || positionals.length !== 1) {
  console.error(
    'usage: node componentize.mjs --tools <dir> --wit <dir> --world <world> --out <file> <source.js>',
  );
  process.exit(2);
}

const pkg = join(resolve(args.tools), 'node_modules', '@bytecodealliance', 'componentize-js');
const load = (path) => import(pathToFileURL(join(pkg, path)).href);
// The same module instance componentize.js imports: patching its `splicer`
// patches the bindings componentize() generates.
const { splicer } = await load('lib/spidermonkey-embedding-splicer.js');
const { componentize } = await load('src/componentize.js');

// [helper, its 0.23.0 body, the fixed body]. A helper is emitted only when
// the world needs it; one with another body means the bindings changed, and
// this fix must be checked again.
const FIXES = [
  ['toUint32', /function toUint32\(val\) \{\s*return val >>> 0;\s*\}/, 'function toUint32(val) {\n  return val | 0;\n}'],
  [
    'toInt64',
    /function toInt64\(val\) \{\s*const converted = BigInt\(val\)\s*return BigInt\.asIntN\(64, converted\);\s*\}/,
    'function toInt64(val) {\n  return BigInt.asUintN(64, BigInt(val));\n}',
  ],
];

function fix(bindings) {
  for (const [name, before, after] of FIXES) {
    if (!bindings.includes(`function ${name}(`)) continue;
    if (!before.test(bindings)) {
      throw new Error(
        `componentize.mjs: the bindings' ${name} is not the one of componentize-js 0.23.0; ` +
          'check whether its bug is fixed and update FIXES',
      );
    }
    bindings = bindings.replace(before, after);
  }
  return bindings;
}

const splice = splicer.spliceBindings;
splicer.spliceBindings = (...rest) => {
  const spliced = splice(...rest);
  spliced.jsBindings = fix(spliced.jsBindings);
  return spliced;
};

const { component } = await componentize({
  sourcePath: positionals[0],
  witPath: resolve(args.wit),
  worldName: args.world,
  // No fetch() and no `fetch` event: the guests do not import wasi:http.
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile(args.out, component);
