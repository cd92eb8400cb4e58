/** ES2026's Error.isError, which Node 24 has and this project's ES2023 lib does not declare. */
const ErrorWithIsError = Error as ErrorConstructor & {
  isError: (value: unknown) => value is Error;
};

/**
 * True for an Error from any realm. `instanceof Error` is false in a jest test for errors made
 * outside its sandbox (child_process, net, fetch), so tests use this instead.
 */
export function isError(value: unknown): value is Error {
  return ErrorWithIsError.isError(value);
}
