/**
 * `value`, or a failure naming what is missing: the checked form of `value!` for tests, where a
 * missing value is a failed precondition worth a readable message rather than a TypeError later.
 */
export function defined<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`${what} is missing`);
  return value;
}
