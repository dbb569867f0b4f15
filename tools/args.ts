/**
 * A small command-line parser for the tools: `--name value`, `--name=value`, boolean `--flag`,
 * and positional arguments. Unknown options are errors.
 *
 * @module
 */

/** Parsed arguments: option values by name, and the positional rest. */
export interface ParsedArgs {
  options: Record<string, string | true>;
  positional: string[];
}

/**
 * Parses `args`. `valued` names options that take a value; `flags` names boolean options.
 * @throws Error naming an unknown option or an option missing its value.
 */
export function parseArgs(args: string[], valued: string[], flags: string[] = []): ParsedArgs {
  const options: Record<string, string | true> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (flags.includes(name) && eq < 0) {
      options[name] = true;
    } else if (valued.includes(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined) throw new Error(`option --${name} needs a value`);
      options[name] = value;
    } else {
      throw new Error(
        `unknown option --${name}; expected ${
          [...valued, ...flags].map((o) => `--${o}`).join(", ")
        }`,
      );
    }
  }
  return { options, positional };
}
