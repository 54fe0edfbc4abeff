// The conformance actor (world `wactor-examples:guests/conformance`): each
// `echo-*` export returns its argument as it came, so a value makes a round
// trip through the canonical ABI on both sides.
import { put } from 'wactor:runtime/actors@0.4.0';

const dispose = Symbol.dispose || Symbol.for('dispose');

const echo = (x) => x;

export const echoBool = echo;
export const echoU8 = echo;
export const echoS8 = echo;
export const echoU16 = echo;
export const echoS16 = echo;
export const echoU32 = echo;
export const echoS32 = echo;
export const echoU64 = echo;
export const echoS64 = echo;
export const echoF32 = echo;
export const echoF64 = echo;
export const echoChar = echo;
export const echoString = echo;
export const echoBytes = echo;
export const echoStrings = echo;
export const echoPoint = echo;
export const echoShape = echo;
export const echoColor = echo;
export const echoPerms = echo;
export const echoOption = echo;
export const echoResult = echo;
export const echoTuple = echo;
export const echoPoints = echo;
export const echoRef = echo;

// A host error thrown by `get-blocking` (a `ComponentError` whose `payload`
// is the `error` variant) becomes this export's `err` as it is.
export function refValue(r) {
  try {
    return r.getBlocking(undefined);
  } finally {
    r[dispose]();
  }
}

export function putValue(value) {
  return put(value);
}
