/**
 * The library's errors name options as the API spells them ("pass overwrite to replace it"); on the command line
 * the same option is a flag (--overwrite). The CLI runs library calls through {@link withFlagNames} so that its
 * messages name the flag to type.
 */

/** API option names that the CLI exposes as flags, and the flag of each. */
const FLAGS: Record<string, string> = { overwrite: '--overwrite' };

/** `message` with "pass <option>" turned into "pass <flag>" for every option in FLAGS. */
export function flagMessage(message: string): string {
  return message.replace(/\bpass (\w+)\b/g, (whole, name: string) => (FLAGS[name] ? `pass ${FLAGS[name]}` : whole));
}

/** Runs `call`; an error it throws is rethrown with its message naming command-line flags. */
export async function withFlagNames<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof Error) e.message = flagMessage(e.message);
    throw e;
  }
}
