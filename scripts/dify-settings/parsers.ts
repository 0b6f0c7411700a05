/**
 * Small, deliberately strict readers that list the environment variable NAMES an upstream source reads. They
 * understand only the shapes the pinned sources use and throw on anything else, so an upgrade that changes how
 * settings are declared fails loudly instead of producing a silently wrong list.
 */

/** A name read from the environment and the file (relative to its tree) that reads it. */
export interface EnvRead {
  readonly name: string;
  readonly file: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

// ---------------------------------------------------------------------------------------------------------------
// Python: pydantic-settings classes
// ---------------------------------------------------------------------------------------------------------------

/** One Python statement with brackets, strings and backslash continuations joined, comments removed. */
export interface LogicalLine {
  readonly indent: number;
  readonly text: string;
  /** 1-based line of the statement's first physical line. */
  readonly line: number;
}

/** Splits Python source into logical lines (the tokenizer's view, minus comments). */
export function pythonLogicalLines(source: string): LogicalLine[] {
  const lines: LogicalLine[] = [];
  let text = '';
  let depth = 0;
  let quote: string | undefined;
  let physicalLine = 1;
  let startLine = 1;
  let indent = 0;
  let atLineStart = true;
  const flush = (): void => {
    if (text.trim() !== '') lines.push({ indent, text: text.trim(), line: startLine });
    text = '';
  };
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (atLineStart) {
      let j = i;
      while (source[j] === ' ' || source[j] === '\t') j++;
      indent = j - i;
      startLine = physicalLine;
      atLineStart = false;
      i = j - 1;
      continue;
    }
    if (quote !== undefined) {
      if (c === '\\') {
        text += c + (source[i + 1] ?? '');
        if (source[i + 1] === '\n') physicalLine++;
        i++;
        continue;
      }
      if (source.startsWith(quote, i)) {
        text += quote;
        i += quote.length - 1;
        quote = undefined;
        continue;
      }
      if (c === '\n') {
        if (quote.length === 1) throw new Error(`line ${physicalLine}: unterminated string`);
        physicalLine++;
      }
      text += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = source.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      text += quote;
      i += quote.length - 1;
      continue;
    }
    if (c === '#') {
      while (i + 1 < source.length && source[i + 1] !== '\n') i++;
      continue;
    }
    if (c === '\\' && source[i + 1] === '\n') {
      physicalLine++;
      i++;
      text += ' ';
      continue;
    }
    if ('([{'.includes(c)) depth++;
    if (')]}'.includes(c)) depth--;
    if (c === '\n') {
      physicalLine++;
      if (depth > 0) {
        text += ' ';
        continue;
      }
      flush();
      atLineStart = true;
      continue;
    }
    text += c;
  }
  if (quote !== undefined) throw new Error('unterminated string at end of file');
  flush();
  return lines;
}

/** A class as declared: its base names and the statements directly in its body. */
export interface PythonClass {
  readonly name: string;
  readonly bases: readonly string[];
  readonly body: readonly LogicalLine[];
  readonly file: string;
}

const CLASS_LINE = /^class\s+([A-Za-z_]\w*)\s*(?:\(([^]*)\))?\s*:\s*([^]*)$/;

export function pythonClasses(source: string, file: string): PythonClass[] {
  const lines = pythonLogicalLines(source);
  const classes: PythonClass[] = [];
  lines.forEach((line, index) => {
    const match = CLASS_LINE.exec(line.text);
    if (!match) return;
    const bases = splitTopLevel(match[2] ?? '', ',')
      .map((base) => base.trim())
      .filter((base) => base !== '' && !base.includes('='))
      .map((base) => base.replace(/\[.*$/, '').split('.').pop() ?? base);
    const body: LogicalLine[] = [];
    let memberIndent: number | undefined;
    for (const next of lines.slice(index + 1)) {
      if (next.indent <= line.indent) break;
      memberIndent ??= next.indent;
      if (next.indent === memberIndent) body.push(next);
    }
    classes.push({ name: match[1], bases, body, file });
  });
  return classes;
}

/** Splits at `separator` where it is outside brackets and strings. */
export function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== undefined) {
      if (c === '\\') {
        current += c + (text[i + 1] ?? '');
        i++;
        continue;
      }
      if (c === quote) quote = undefined;
      current += c;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (depth === 0 && text.startsWith(separator, i)) {
      parts.push(current);
      current = '';
      i += separator.length - 1;
      continue;
    }
    current += c;
  }
  parts.push(current);
  return parts;
}

const PYTHON_KEYWORDS = new Set(['else', 'try', 'finally', 'except', 'lambda', 'match', 'case']);
const FIELD_LINE = /^([A-Za-z_]\w*)\s*:\s*([^]+)$/;
const STRING_LITERAL = /^[rRuU]?(["'])((?:\\.|(?!\1).)*)\1$/;

function stringLiteral(text: string): string | undefined {
  return STRING_LITERAL.exec(text.trim())?.[2];
}

/** The argument text of the first `keyword=` at the top level of a call's arguments, if any. */
function keywordArgument(call: string, keyword: string): string | undefined {
  const open = call.indexOf('(');
  if (open < 0 || !call.trimEnd().endsWith(')')) return undefined;
  const args = call.slice(open + 1, call.trimEnd().length - 1);
  for (const arg of splitTopLevel(args, ',')) {
    const match = /^\s*([A-Za-z_]\w*)\s*=([^=][^]*)$/.exec(arg);
    if (match && match[1] === keyword) return match[2].trim();
  }
  return undefined;
}

/** Every `Field(...)` call in a field's annotation and value (Annotated[...] puts it in the annotation). */
function fieldCalls(text: string): string[] {
  const calls: string[] = [];
  const pattern = /\bField\s*\(/g;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null) {
    const start = match.index;
    let depth = 0;
    for (let i = start + match[0].length - 1; i < text.length; i++) {
      if (text[i] === '(') depth++;
      if (text[i] === ')' && --depth === 0) {
        calls.push(text.slice(start, i + 1));
        break;
      }
    }
  }
  return calls;
}

/**
 * The environment names one pydantic field is read under. pydantic-settings reads a field by its
 * `validation_alias` (a string or every string of `AliasChoices`), else by `alias`, else by its name; the field
 * name itself is not read once an alias is set unless the model sets `populate_by_name` (pydantic-settings
 * docs "Environment variable names"). `AliasPath` picks a key inside a value and is not supported here.
 */
export function pydanticFieldEnvNames(fieldName: string, declaration: string, where: string): string[] {
  for (const call of fieldCalls(declaration)) {
    const alias = keywordArgument(call, 'validation_alias') ?? keywordArgument(call, 'alias');
    if (alias === undefined) continue;
    const single = stringLiteral(alias);
    if (single !== undefined) return [single];
    const choices = /^AliasChoices\s*\(([^]*)\)$/.exec(alias);
    if (!choices) throw new Error(`${where}: ${fieldName} has an alias this parser does not understand: ${alias}`);
    return splitTopLevel(choices[1], ',')
      .filter((choice) => choice.trim() !== '')
      .map((choice) => {
        const name = stringLiteral(choice);
        if (name === undefined) throw new Error(`${where}: ${fieldName} has a non-string alias choice: ${choice}`);
        return name;
      });
  }
  return [fieldName];
}

export interface PydanticSettings {
  /** Every environment name the settings class reads, with the file that declares the field. */
  readonly reads: EnvRead[];
  /** pydantic-settings' `case_sensitive` (false unless the model config says otherwise). */
  readonly caseSensitive: boolean;
}

/**
 * The environment names read by one pydantic-settings class, `root`, including every field inherited from the
 * classes it mixes in (searched by name among `classes`). Computed fields and methods are not fields; names with
 * a leading underscore are private attributes; `model_config` and `ClassVar` annotations are not settings.
 */
export function pydanticSettingsReads(classes: readonly PythonClass[], root: string): PydanticSettings {
  const byName = new Map<string, PythonClass>();
  for (const cls of classes) {
    const existing = byName.get(cls.name);
    if (existing) throw new Error(`class ${cls.name} is defined in both ${existing.file} and ${cls.file}`);
    byName.set(cls.name, cls);
  }
  if (!byName.has(root)) throw new Error(`no class ${root} found`);
  const reached = new Set<string>();
  const visit = (name: string): void => {
    const cls = byName.get(name);
    if (!cls || reached.has(name)) return; // a base from outside the tree (BaseSettings, BaseModel, ...)
    reached.add(name);
    cls.bases.forEach(visit);
  };
  visit(root);

  const reads: EnvRead[] = [];
  let caseSensitive = false;
  for (const name of reached) {
    const cls = byName.get(name) as PythonClass;
    for (const statement of cls.body) {
      const where = `${cls.file}:${statement.line}`;
      if (/^model_config\s*[:=]/.test(statement.text)) {
        for (const unsupported of ['env_prefix', 'env_nested_delimiter', 'alias_generator', 'populate_by_name']) {
          if (new RegExp(`\\b${unsupported}\\s*=`).test(statement.text)) {
            throw new Error(`${where}: model_config sets ${unsupported}, which this parser does not handle`);
          }
        }
        const sensitive = /\bcase_sensitive\s*=\s*(True|False)/.exec(statement.text);
        if (sensitive) caseSensitive = sensitive[1] === 'True';
        continue;
      }
      const field = FIELD_LINE.exec(statement.text);
      if (!field || PYTHON_KEYWORDS.has(field[1]) || field[1].startsWith('_')) continue;
      const [annotation] = splitTopLevel(field[2], '=');
      if (/^\s*(typing\.)?ClassVar\b/.test(annotation)) continue;
      for (const envName of pydanticFieldEnvNames(field[1], field[2], where)) {
        reads.push({ name: envName, file: cls.file });
      }
    }
  }
  return { reads, caseSensitive };
}

// ---------------------------------------------------------------------------------------------------------------
// Python: direct os.environ reads
// ---------------------------------------------------------------------------------------------------------------

const PYTHON_ENV_READS = [
  /\bos\.(?:environ\.get|getenv|environ\.setdefault)\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']/g,
  /\bos\.environ\[\s*["']([A-Za-z_][A-Za-z0-9_]*)["']\s*\]/g,
  /["']([A-Za-z_][A-Za-z0-9_]*)["']\s+(?:not\s+)?in\s+os\.environ\b/g,
];

/** Names a Python file reads with `os.environ.get`, `os.getenv`, `os.environ[...]` or `in os.environ`. */
export function pythonEnvReads(source: string, file: string): EnvRead[] {
  return PYTHON_ENV_READS.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => ({ name: m[1], file })));
}

// ---------------------------------------------------------------------------------------------------------------
// Shell scripts
// ---------------------------------------------------------------------------------------------------------------

/** The line without its comment and without single-quoted text (no expansion happens there). */
function expandableShellText(line: string): string {
  let out = '';
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      continue;
    }
    if (c === '\\') {
      out += c + (line[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') quote = quote === '"' ? undefined : '"';
    else if (c === "'" && quote === undefined) {
      quote = "'";
      continue;
    } else if (c === '#' && quote === undefined && (i === 0 || /\s/.test(line[i - 1]))) break;
    out += c;
  }
  return out;
}

const SHELL_REFERENCE = /\$\{#?([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)/g;
const SHELL_ASSIGNMENT =
  /(?:^|[;&|]|\bthen|\bdo|\belse)\s*(?:(?:export|local|readonly|declare)\s+)?([A-Za-z_][A-Za-z0-9_]*)=/g;

/**
 * Names a shell script reads from its environment: every `$NAME` / `${NAME...}` that is not the script's own
 * variable, i.e. not assigned on an earlier line (the right-hand side of `export X=${X:-d}` is read before the
 * assignment, so X counts). Branches are not followed: a name assigned in any earlier line counts as the
 * script's own.
 */
export function shellEnvReads(source: string, file: string): EnvRead[] {
  const assigned = new Set<string>();
  const reads: EnvRead[] = [];
  for (const line of source.split('\n')) {
    const text = expandableShellText(line);
    for (const match of text.matchAll(SHELL_REFERENCE)) {
      const name = match[1] ?? match[2];
      if (!assigned.has(name)) reads.push({ name, file });
    }
    for (const match of text.matchAll(SHELL_ASSIGNMENT)) assigned.add(match[1]);
  }
  return reads;
}

// ---------------------------------------------------------------------------------------------------------------
// Go
// ---------------------------------------------------------------------------------------------------------------

/**
 * Names read by kelseyhightower/envconfig into the Go struct `structName`: the `envconfig:"NAME"` tag of each
 * exported field. A field without the tag (envconfig would derive a name from the field name) or an embedded
 * struct throws, because the derived name depends on options this parser does not model.
 */
export function envconfigReads(source: string, file: string, structName: string): EnvRead[] {
  const start = new RegExp(`^type\\s+${structName}\\s+struct\\s*\\{\\s*$`, 'm').exec(source);
  if (!start) throw new Error(`${file}: no struct ${structName}`);
  const body = source.slice(start.index + start[0].length);
  const end = /^\}/m.exec(body);
  if (!end) throw new Error(`${file}: struct ${structName} is not closed`);
  const reads: EnvRead[] = [];
  for (const raw of body.slice(0, end.index).split('\n')) {
    const line = raw.replace(/\s\/\/.*$/, '').replace(/^\s*\/\/.*$/, '');
    if (line.trim() === '') continue;
    const field = /^\s*([A-Za-z_]\w*)\s+([^`]+?)\s*(`[^`]*`)?\s*$/.exec(line);
    if (!field) throw new Error(`${file}: cannot read struct field line: ${raw.trim()}`);
    if (!/^[A-Z]/.test(field[1])) continue; // envconfig skips unexported fields
    const tag = /\benvconfig:"([^"]*)"/.exec(field[3] ?? '');
    if (!tag) throw new Error(`${file}: field ${field[1]} has no envconfig tag; its derived name is not modelled`);
    if (tag[1] === '-') continue;
    reads.push({ name: tag[1], file });
  }
  return reads;
}

/** Names a Go file reads with `os.Getenv` or `os.LookupEnv`. */
export function goGetenvReads(source: string, file: string): EnvRead[] {
  return [...source.matchAll(/\bos\.(?:Getenv|LookupEnv)\(\s*"([^"]+)"\s*\)/g)].map((m) => ({ name: m[1], file }));
}

// ---------------------------------------------------------------------------------------------------------------
// Plain name lists
// ---------------------------------------------------------------------------------------------------------------

/** One name a line; blank lines and `#` comment lines are skipped; anything else throws. */
export function nameListReads(source: string, file: string): EnvRead[] {
  return source
    .split('\n')
    .map((line, index) => ({ line: line.trim(), number: index + 1 }))
    .filter(({ line }) => line !== '' && !line.startsWith('#'))
    .map(({ line, number }) => {
      if (!ENV_NAME.test(line)) throw new Error(`${file}:${number}: not a variable name: ${line}`);
      return { name: line, file };
    });
}
