// Shared settings of the property-based fuzz tests: a fixed seed and modest run counts, so every
// run is the same run and the suite stays fast. To replay a failure, take the seed and path
// fast-check prints ("seed: 1234, path: "5:2:0"") and run
//   MESH_FUZZ_SEED=1234 MESH_FUZZ_PATH=5:2:0 npx tap test/fuzz/<file>.test.ts
// then keep the shrunk counterexample in regressions.ts, where every later run replays it first.
// MESH_FUZZ_RUNS=<n> multiplies nothing: it sets every property's run count (a long soak).

import fc from 'fast-check'

export const FUZZ_SEED = Number(process.env.MESH_FUZZ_SEED ?? 20_261_204)

/** fast-check parameters for one property: the fixed seed, `numRuns` runs, and replayed `examples`. */
export function fuzzParameters<T> (numRuns: number, examples: T[] = []): fc.Parameters<T> {
  const path = process.env.MESH_FUZZ_PATH
  return {
    seed: FUZZ_SEED,
    numRuns: Number(process.env.MESH_FUZZ_RUNS ?? numRuns),
    examples,
    ...(path === undefined ? {} : { path }),
    // The whole counterexample, shrunk, in the failure message: what regressions.ts needs.
    verbose: 1,
  }
}

/** Strings as a network peer could send them: any code unit, lone surrogates and controls included. */
export const anyText = (maxLength = 40): fc.Arbitrary<string> => fc.oneof(
  fc.string({ maxLength, unit: 'binary' }),
  fc.string({ maxLength, unit: fc.constantFrom('\u0000', '\u001f', '\u007f', '\ud800', '\udfff', '/', '%', '.', '..', '*', '"', '\\', 'a', 'é', '😀', ' ', '\n', ':') }),
  fc.constantFrom('', '__proto__', 'constructor', 'prototype', 'toString', '.', '..', 'x'.repeat(300))
)

/** JSON values, deeper and odder than fc.jsonValue's defaults (lone surrogates in keys and strings). */
export const anyJson = (maxDepth = 4): fc.Arbitrary<unknown> => fc.letrec<{ value: unknown }>(tie => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth },
    fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(0, -1, 65535, 65536, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, 0.5),
    anyText(),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(anyText(12), tie('value'), { maxKeys: 5 })
  ),
})).value

/**
 * Asserts that the generators reached what a property is about (valid messages, accepted
 * requests…), so a generator that drifted into producing only rejects fails the run. Replaying one
 * path (MESH_FUZZ_PATH) runs a single case, so there it is only reported.
 */
export function assertReached (t: { ok: (value: unknown, message: string) => unknown, comment: (message: string) => unknown }, reached: boolean, message: string): void {
  if (process.env.MESH_FUZZ_PATH === undefined) t.ok(reached, message)
  else t.comment(`replaying one path; coverage not asserted: ${message}`)
}
