// Type guards for untrusted JSON (HTTP bodies, config entries, replicated entries): one definition
// of "a JSON object" so every boundary agrees on what it accepts.

/** True for a plain JSON object: not null, not an array. */
export function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Bounds on the shape of an opaque JSON value: how deep it nests and how many values it holds. */
export interface JsonShapeLimits {
  /** Levels of objects and arrays: `{}` and `[]` are depth 1, `{"a":{}}` is 2; scalars are 0. */
  maxDepth: number
  /** Values counted over the whole tree, containers and scalars alike. */
  maxValues: number
}

/**
 * The first way `value` exceeds `limits` ("nests deeper than 32 levels"), or undefined when it
 * fits. It walks with an explicit stack, never recursing, so a value nested any depth is safe to
 * check; check before anything recursive (structuredClone, JSON.stringify) touches the value.
 */
export function jsonShapeProblem (value: unknown, limits: JsonShapeLimits): string | undefined {
  const stack: Array<{ value: unknown, depth: number }> = [{ value, depth: 0 }]
  let values = 0
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop() as { value: unknown, depth: number }
    if (++values > limits.maxValues) return `holds more than ${limits.maxValues} values`
    if (typeof current !== 'object' || current === null) continue
    if (depth + 1 > limits.maxDepth) return `nests deeper than ${limits.maxDepth} levels`
    const children = Array.isArray(current) ? current : Object.values(current)
    // Every pending value will count, so the stack never holds more than maxValues entries.
    if (values + stack.length + children.length > limits.maxValues) return `holds more than ${limits.maxValues} values`
    for (const child of children) stack.push({ value: child, depth: depth + 1 })
  }
  return undefined
}
