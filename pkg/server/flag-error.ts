/** A flag with a bad value: its message names the flag and says what is wrong (printed as one line, exit 1 or 2). */
export class FlagError extends Error {}
