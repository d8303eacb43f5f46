/**
 * Command-line flags for the benchmark runner. Every flag `--some-flag` can also come from the
 * environment as `BENCH_SOME_FLAG`; the command line wins. Flags are declared (name, kind, default,
 * help) by the runner and by each scenario, so a typo is refused before anything starts and
 * `--help` lists every scenario's options with their defaults.
 */

export type FlagKind = 'int' | 'number' | 'string' | 'bool' | 'list';

export interface FlagSpec {
  /** kebab-case, without the leading dashes */
  name: string;
  kind: FlagKind;
  default?: number | string | boolean;
  /** smallest accepted value for int/number flags */
  min?: number;
  help: string;
}

/** A bad command line: print it with the usage and exit 2. */
export class UsageError extends Error {}

type RawValue = string | true | string[];

/** Splits argv into `--flag value`, `--flag=value` and bare `--flag`; repeated flags accumulate. */
export function parseArgv(argv: readonly string[]): Map<string, RawValue> {
  const out = new Map<string, RawValue>();
  const put = (name: string, value: string | true): void => {
    const previous = out.get(name);
    if (previous === undefined) {
      out.set(name, value);
    } else if (value !== true) {
      const list = Array.isArray(previous) ? previous : typeof previous === 'string' ? [previous] : [];
      out.set(name, [...list, value]);
    }
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--') || arg === '--') {
      throw new UsageError(`unexpected argument "${arg}" (flags look like --name value)`);
    }
    const body = arg.slice(2);
    const eq = body.indexOf('=');
    if (eq >= 0) {
      put(body.slice(0, eq), body.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      put(body, next);
      i += 1;
    } else {
      put(body, true);
    }
  }
  return out;
}

export function envName(flag: string): string {
  return `BENCH_${flag.toUpperCase().replace(/-/g, '_')}`;
}

export class BenchArgs {
  private readonly specs = new Map<string, FlagSpec>();

  constructor(
    private readonly raw: Map<string, RawValue>,
    specs: readonly FlagSpec[],
    private readonly env: Record<string, string | undefined> = process.env,
  ) {
    for (const spec of specs) {
      this.specs.set(spec.name, spec);
    }
  }

  /** Refuses flags nobody declared. */
  checkKnown(): void {
    const unknown = [...this.raw.keys()].filter((name) => !this.specs.has(name));
    if (unknown.length > 0) {
      throw new UsageError(
        `unknown flag${unknown.length > 1 ? 's' : ''}: ${unknown.map((n) => `--${n}`).join(', ')}`,
      );
    }
  }

  has(name: string): boolean {
    return this.raw.has(name) || this.env[envName(name)] !== undefined;
  }

  int(name: string): number {
    const value = this.number(name);
    if (!Number.isInteger(value)) {
      throw new UsageError(`--${name} must be an integer, got ${value}`);
    }
    return value;
  }

  number(name: string): number {
    const spec = this.spec(name, ['int', 'number']);
    const text = this.text(name);
    const value = text === undefined ? spec.default : Number(text.replace(/_/g, ''));
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new UsageError(`--${name} needs a number${text === undefined ? '' : `, got "${text}"`}`);
    }
    if (spec.min !== undefined && value < spec.min) {
      throw new UsageError(`--${name} must be at least ${spec.min}, got ${value}`);
    }
    return value;
  }

  string(name: string): string {
    const spec = this.spec(name, ['string']);
    const value = this.text(name) ?? spec.default;
    if (typeof value !== 'string') {
      throw new UsageError(`--${name} needs a value`);
    }
    return value;
  }

  optionalString(name: string): string | undefined {
    this.spec(name, ['string']);
    return this.text(name);
  }

  bool(name: string): boolean {
    const spec = this.spec(name, ['bool']);
    const raw = this.raw.get(name);
    if (raw === true) {
      return true;
    }
    const text =
      typeof raw === 'string' ? raw : Array.isArray(raw) ? raw[raw.length - 1] : this.env[envName(name)];
    if (text === undefined) {
      return spec.default === true;
    }
    if (['1', 'true', 'yes', 'on'].includes(text.toLowerCase())) {
      return true;
    }
    if (['0', 'false', 'no', 'off', ''].includes(text.toLowerCase())) {
      return false;
    }
    throw new UsageError(`--${name} is a switch (true/false), got "${text}"`);
  }

  /** Repeatable flag (`--app-env A=1 --app-env B=2`); from the environment, comma-separated. */
  list(name: string): string[] {
    this.spec(name, ['list']);
    const raw = this.raw.get(name);
    if (raw === true) {
      throw new UsageError(`--${name} needs a value`);
    }
    if (raw !== undefined) {
      return Array.isArray(raw) ? raw : [raw];
    }
    const fromEnv = this.env[envName(name)];
    return fromEnv ? fromEnv.split(',').filter((s) => s.length > 0) : [];
  }

  /** The value of every declared flag, for the results file. */
  snapshot(): Record<string, number | string | boolean | string[]> {
    const out: Record<string, number | string | boolean | string[]> = {};
    for (const spec of this.specs.values()) {
      switch (spec.kind) {
        case 'int':
        case 'number':
          if (this.has(spec.name) || spec.default !== undefined) {
            out[spec.name] = this.number(spec.name);
          }
          break;
        case 'string': {
          const value = this.text(spec.name) ?? spec.default;
          if (value !== undefined) {
            out[spec.name] = String(value);
          }
          break;
        }
        case 'bool':
          out[spec.name] = this.bool(spec.name);
          break;
        case 'list':
          out[spec.name] = this.list(spec.name);
          break;
      }
    }
    return out;
  }

  private spec(name: string, kinds: readonly FlagKind[]): FlagSpec {
    const spec = this.specs.get(name);
    if (!spec || !kinds.includes(spec.kind)) {
      // a programming error in a scenario, not a user error
      throw new Error(`flag --${name} is not declared as ${kinds.join('/')}`);
    }
    return spec;
  }

  private text(name: string): string | undefined {
    const raw = this.raw.get(name);
    if (raw === true) {
      throw new UsageError(`--${name} needs a value`);
    }
    if (Array.isArray(raw)) {
      return raw[raw.length - 1];
    }
    return raw ?? this.env[envName(name)];
  }
}

/** Help text for a list of flags, defaults included. */
export function describeFlags(specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const left = `  --${s.name}${s.kind === 'bool' ? '' : ` <${s.kind === 'list' ? 'value' : s.kind}>`}`;
    const def = s.default === undefined || s.default === false ? '' : ` (default ${String(s.default)})`;
    return [left, `${s.help}${def}`] as const;
  });
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${left.padEnd(width)}  ${right}`).join('\n');
}
