/**
 * Label and field selectors as the Kubernetes API server parses and applies
 * them (k8s.io/apimachinery/pkg/labels and pkg/fields). List and watch use
 * them to filter; controllers turn their metav1 LabelSelector objects into
 * the same form with fromLabelSelectorObject.
 */
import type { LabelSelector as MetaLabelSelector } from 'kubernetes-types/meta/v1.js';

/** A selector that could not be parsed or is not supported; the API answers 400 BadRequest. */
export class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

// ---------------------------------------------------------------------------
// Label selectors
// ---------------------------------------------------------------------------

/** Operators as k8s.io/apimachinery/pkg/selection spells them. */
export type LabelOperator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /** Sorted and de-duplicated, as the parser's string set leaves them. */
  values: string[];
}

export interface LabelSelector {
  /** ANDed, sorted by key. */
  requirements: LabelRequirement[];
  /**
   * True for the selector that matches nothing: what a nil metav1 selector
   * becomes, so a controller without a selector adopts no pods.
   */
  matchesNothing: boolean;
}

/** The selector that matches every object (an empty string parses to it). */
export function everythingSelector(): LabelSelector {
  return { requirements: [], matchesNothing: false };
}

const QUALIFIED_NAME_MAX = 63;
const LABEL_VALUE_MAX = 63;
const DNS1123_SUBDOMAIN_MAX = 253;
const QUALIFIED_NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS1123_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const QUALIFIED_NAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
  "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/** The messages of validation.IsQualifiedName, which label keys must pass. */
function labelKeyErrors(key: string): string[] {
  const parts = key.split('/');
  let name: string;
  const errs: string[] = [];
  if (parts.length === 1) {
    name = parts[0];
  } else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) {
      errs.push('prefix part must be non-empty');
    } else {
      if (prefix.length > DNS1123_SUBDOMAIN_MAX) errs.push(`prefix part must be no more than ${DNS1123_SUBDOMAIN_MAX} characters`);
      if (!DNS1123_SUBDOMAIN_RE.test(prefix)) {
        errs.push(
          "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character " +
            "(e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        );
      }
    }
  } else {
    return [`a qualified name ${QUALIFIED_NAME_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  if (name.length === 0) {
    errs.push('name part must be non-empty');
  } else if (name.length > QUALIFIED_NAME_MAX) {
    errs.push(`name part must be no more than ${QUALIFIED_NAME_MAX} characters`);
  }
  if (name.length > 0 && !QUALIFIED_NAME_RE.test(name)) errs.push(`name part ${QUALIFIED_NAME_MSG}`);
  return errs;
}

/** The messages of validation.IsValidLabelValue. */
function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > LABEL_VALUE_MAX) errs.push(`must be no more than ${LABEL_VALUE_MAX} characters`);
  if (!LABEL_VALUE_RE.test(value)) {
    errs.push(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
        "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    );
  }
  return errs;
}

/** Go's %#v of a string slice, which field.Invalid prints for a bad values list. */
function goStrings(values: string[]): string {
  return `[]string{${values.map((v) => JSON.stringify(v)).join(', ')}}`;
}

/** One field.Error as Error() renders it: `<path>: Invalid value: "<v>": <detail>`. */
function invalid(path: string, bad: string, detail: string): string {
  return `${path}: Invalid value: ${bad}: ${detail}`;
}

/** A field.ErrorList aggregate: the single message, or `[a, b]` for several. */
function aggregate(errs: string[]): string {
  return errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`;
}

function keyError(key: string, path: string): string | undefined {
  const errs = labelKeyErrors(key);
  return errs.length === 0 ? undefined : invalid(path, JSON.stringify(key), errs.join('; '));
}

const INT_RE = /^[+-]?\d+$/;

/**
 * labels.NewRequirement: validates a requirement and returns it with sorted,
 * de-duplicated values. `path` prefixes error fields the way the caller's
 * field.Path would ('' for none).
 */
function newRequirement(key: string, operator: LabelOperator, values: string[], path: string): LabelRequirement {
  const errs: string[] = [];
  const child = (name: string): string => (path === '' ? name : `${path}.${name}`);
  const kErr = keyError(key, child('key'));
  if (kErr !== undefined) errs.push(kErr);
  const valuesPath = child('values');
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0) errs.push(invalid(valuesPath, goStrings(values), "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) errs.push(invalid(valuesPath, goStrings(values), 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) errs.push(invalid(valuesPath, goStrings(values), 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) errs.push(invalid(valuesPath, goStrings(values), "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (!INT_RE.test(v)) errs.push(invalid(`${valuesPath}[${i}]`, JSON.stringify(v), "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
  }
  values.forEach((v, i) => {
    const vErrs = labelValueErrors(v);
    if (vErrs.length > 0) errs.push(invalid(`${valuesPath}[${i}][${key}]`, JSON.stringify(v), vErrs.join('; ')));
  });
  if (errs.length > 0) throw new SelectorError(aggregate(errs));
  return { key, operator, values: [...new Set(values)].sort() };
}

// --- lexer (labels.Lexer) ---

type Tok = 'error' | 'eos' | ')' | ',' | '!' | '==' | '=' | '>' | 'id' | 'in' | '<' | '!=' | 'notin' | '(';

interface Item {
  tok: Tok;
  lit: string;
}

const SYMBOL_TOKENS: ReadonlyMap<string, Tok> = new Map<string, Tok>([
  [')', ')'], [',', ','], ['!', '!'], ['==', '=='], ['=', '='], ['>', '>'], ['<', '<'], ['!=', '!='], ['(', '('],
]);
const KEYWORDS: ReadonlyMap<string, Tok> = new Map<string, Tok>([['in', 'in'], ['notin', 'notin']]);
const SPECIAL = new Set(['=', '!', '(', ')', ',', '>', '<']);
const WHITESPACE = new Set([' ', '\t', '\r', '\n']);

function lex(s: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && WHITESPACE.has(s[pos])) pos++;
    if (pos >= s.length) {
      items.push({ tok: 'eos', lit: '' });
      return items;
    }
    if (SPECIAL.has(s[pos])) {
      // Longest operator made of special symbols, as scanSpecialSymbol does.
      let buf = '';
      let last: Item | undefined;
      while (pos < s.length && SPECIAL.has(s[pos])) {
        const next = buf + s[pos];
        const tok = SYMBOL_TOKENS.get(next);
        if (tok !== undefined) {
          last = { tok, lit: next };
        } else if (last !== undefined) {
          break;
        }
        buf = next;
        pos++;
      }
      items.push(last ?? { tok: 'error', lit: `error expected: keyword found '${buf}'` });
      // An error token stops nothing in Go either: the parser reports it.
      if (last === undefined) {
        items.push({ tok: 'eos', lit: '' });
        return items;
      }
      continue;
    }
    let buf = '';
    while (pos < s.length && !SPECIAL.has(s[pos]) && !WHITESPACE.has(s[pos])) buf += s[pos++];
    items.push({ tok: KEYWORDS.get(buf) ?? 'id', lit: buf });
  }
}

const BINARY_OPERATORS = 'in, notin, =, ==, !=, gt, lt';

/** Recursive-descent parser over the scanned items (labels.Parser). */
class LabelParser {
  private position = 0;
  constructor(private readonly items: Item[]) {}

  /** In a value context, 'in' and 'notin' are plain identifiers. */
  private peek(values: boolean): Item {
    const it = this.items[Math.min(this.position, this.items.length - 1)];
    return values && (it.tok === 'in' || it.tok === 'notin') ? { tok: 'id', lit: it.lit } : it;
  }

  private consume(values: boolean): Item {
    const it = this.peek(values);
    this.position++;
    return it;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.peek(true);
      if (tok === 'id' || tok === '!') {
        let r: LabelRequirement;
        try {
          r = this.requirement();
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          throw new SelectorError(`unable to parse requirement: ${msg}`);
        }
        reqs.push(r);
        const next = this.consume(true);
        if (next.tok === 'eos') return reqs;
        if (next.tok === ',') {
          const after = this.peek(true);
          if (after.tok !== 'id' && after.tok !== '!') throw new SelectorError(`found '${after.lit}', expected: identifier after ','`);
          continue;
        }
        throw new SelectorError(`found '${next.lit}', expected: ',' or 'end of string'`);
      }
      if (tok === 'eos') return reqs;
      throw new SelectorError(`found '${lit}', expected: !, identifier, or 'end of string'`);
    }
  }

  private requirement(): LabelRequirement {
    let first = this.consume(true);
    let notExists = false;
    if (first.tok === '!') {
      notExists = true;
      first = this.consume(true);
    }
    if (first.tok !== 'id') throw new Error(`found '${first.lit}', expected: identifier`);
    const key = first.lit;
    // The parser validates the key with a nil field path, hence "<nil>".
    const kErr = keyError(key, '<nil>');
    if (kErr !== undefined) throw new Error(kErr);
    // `!a` is complete whatever follows; in `!a=b` the caller then trips over '='.
    if (notExists) return newRequirement(key, '!', [], '');
    const after = this.peek(true).tok;
    if (after === 'eos' || after === ',') return newRequirement(key, 'exists', [], '');
    const opItem = this.consume(false);
    let op: LabelOperator;
    switch (opItem.tok) {
      case 'in': op = 'in'; break;
      case 'notin': op = 'notin'; break;
      case '=': op = '='; break;
      case '==': op = '=='; break;
      case '!=': op = '!='; break;
      case '>': op = 'gt'; break;
      case '<': op = 'lt'; break;
      default: throw new Error(`found '${opItem.lit}', expected: ${BINARY_OPERATORS}`);
    }
    const values = op === 'in' || op === 'notin' ? this.setValues() : this.exactValue();
    return newRequirement(key, op, values, '');
  }

  private setValues(): string[] {
    const open = this.consume(true);
    if (open.tok !== '(') throw new Error(`found '${open.lit}' expected: '('`);
    const { tok, lit } = this.peek(true);
    if (tok === ')') {
      this.consume(true);
      return [''];
    }
    if (tok !== 'id' && tok !== ',') throw new Error(`found '${lit}', expected: ',', ')' or identifier`);
    const values = this.identifiers();
    if (this.consume(true).tok !== ')') throw new Error(`found '${lit}', expected: ')'`);
    return values;
  }

  /** A possibly empty comma list; empty members are the empty string. */
  private identifiers(): string[] {
    const s = new Set<string>();
    for (;;) {
      const { tok, lit } = this.consume(true);
      if (tok === 'id') {
        s.add(lit);
        const next = this.peek(true);
        if (next.tok === ',') continue;
        if (next.tok === ')') return [...s];
        throw new Error(`found '${next.lit}', expected: ',' or ')'`);
      }
      if (tok === ',') {
        if (s.size === 0) s.add('');
        const next = this.peek(true).tok;
        if (next === ')') {
          s.add('');
          return [...s];
        }
        if (next === ',') s.add('');
        continue;
      }
      throw new Error(`found '${lit}', expected: ',', or identifier`);
    }
  }

  private exactValue(): string[] {
    const next = this.peek(true);
    if (next.tok === 'eos' || next.tok === ',') return [''];
    const { tok, lit } = this.consume(true);
    if (tok === 'id') return [lit];
    throw new Error(`found '${lit}', expected: identifier`);
  }
}

function sortByKey(reqs: LabelRequirement[]): LabelRequirement[] {
  return [...reqs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Parses the string form (`a=b,c in (x,y),!d`) as labels.Parse does; throws SelectorError. */
export function parseLabelSelector(s: string): LabelSelector {
  const reqs = new LabelParser(lex(s)).parse();
  return { requirements: sortByKey(reqs), matchesNothing: false };
}

function requirementMatches(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const val = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return val !== undefined && r.values.includes(val);
    case 'notin':
    case '!=':
      return val === undefined || !r.values.includes(val);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (val === undefined || !INT_RE.test(val) || r.values.length !== 1) return false;
      const lhs = BigInt(val);
      const rhs = BigInt(r.values[0]);
      return r.operator === 'gt' ? lhs > rhs : lhs < rhs;
    }
  }
}

/** True when every requirement holds for the labels (absent labels are an empty set). */
export function matchesLabels(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  if (sel.matchesNothing) return false;
  const ls = labels ?? {};
  return sel.requirements.every((r) => requirementMatches(r, ls));
}

/** True for the selector that places no restriction. */
export function isEverything(sel: LabelSelector): boolean {
  return !sel.matchesNothing && sel.requirements.length === 0;
}

function requirementToString(r: LabelRequirement): string {
  switch (r.operator) {
    case 'exists': return r.key;
    case '!': return `!${r.key}`;
    case 'in': return `${r.key} in (${r.values.join(',')})`;
    case 'notin': return `${r.key} notin (${r.values.join(',')})`;
    case 'gt': return `${r.key}>${r.values.join(',')}`;
    case 'lt': return `${r.key}<${r.values.join(',')}`;
    default: return `${r.key}${r.operator}${r.values.join(',')}`;
  }
}

/** The canonical string form (Selector.String()): '' for everything and for nothing. */
export function labelSelectorToString(sel: LabelSelector): string {
  if (sel.matchesNothing) return '';
  return sel.requirements.map(requirementToString).join(',');
}

const META_OPERATORS: Readonly<Record<string, LabelOperator>> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

/**
 * metav1.LabelSelectorAsSelector: undefined/null selects nothing, `{}`
 * selects everything, matchLabels become `key=value`. Throws SelectorError
 * on an unknown operator or invalid key/value.
 */
export function fromLabelSelectorObject(ls: MetaLabelSelector | null | undefined): LabelSelector {
  if (ls === null || ls === undefined) return { requirements: [], matchesNothing: true };
  const reqs: LabelRequirement[] = [];
  // Stored objects are JSON whose types were checked on write; still, never trust them to be strings.
  for (const [k, v] of Object.entries(ls.matchLabels ?? {})) {
    if (typeof v !== 'string') throw new SelectorError(`matchLabels[${k}]: Invalid value: must be a string`);
    reqs.push(newRequirement(k, '=', [v], ''));
  }
  for (const expr of ls.matchExpressions ?? []) {
    const op = Object.prototype.hasOwnProperty.call(META_OPERATORS, expr.operator) ? META_OPERATORS[expr.operator] : undefined;
    if (op === undefined) throw new SelectorError(`${JSON.stringify(expr.operator)} is not a valid label selector operator`);
    const values: unknown[] = Array.isArray(expr.values) ? expr.values : [];
    const strings = values.filter((x): x is string => typeof x === 'string');
    if (typeof expr.key !== 'string' || strings.length !== values.length) {
      throw new SelectorError('matchExpressions: Invalid value: key and values must be strings');
    }
    reqs.push(newRequirement(expr.key, op, strings, ''));
  }
  return { requirements: sortByKey(reqs), matchesNothing: false };
}

/** A selector matching exactly the given labels (labels.SelectorFromSet); empty selects everything. */
export function selectorFromSet(set: Record<string, string> | undefined): LabelSelector {
  const reqs = Object.entries(set ?? {}).map(([key, v]): LabelRequirement => ({ key, operator: '=', values: [v] }));
  return { requirements: sortByKey(reqs), matchesNothing: false };
}

// ---------------------------------------------------------------------------
// Field selectors
// ---------------------------------------------------------------------------

export interface FieldRequirement {
  field: string;
  /** `==` parses to `=`, as the apimachinery hasTerm does. */
  operator: '=' | '!=';
  /** Unescaped. */
  value: string;
}

export interface FieldSelector {
  /** ANDed, in the order of their sorted source terms. */
  requirements: FieldRequirement[];
}

/** Splits on commas that are not backslash-escaped; escapes stay in the terms. */
function splitTerms(s: string): string[] {
  if (s.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

const TERM_OPERATORS = ['!=', '==', '='] as const;

/** The first recognized operator splits the term; the left side has no escaping. */
function splitTerm(term: string): { lhs: string; op: (typeof TERM_OPERATORS)[number]; rhs: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of TERM_OPERATORS) {
      if (term.startsWith(op, i)) return { lhs: term.slice(0, i), op, rhs: term.slice(i + op.length) };
    }
  }
  return undefined;
}

/** fields.UnescapeValue: `\\`, `\,` and `\=` are the only escapes; bare `,`/`=` are errors. */
export function unescapeFieldValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=') throw new SelectorError(`invalid field selector: invalid escape sequence: \\${c}`);
      out += c;
      inSlash = false;
      continue;
    }
    if (c === '\\') inSlash = true;
    // Go prints the rune with %v, i.e. its code point number.
    else if (c === ',' || c === '=') throw new SelectorError(`invalid field selector: unescaped character in value: ${c.codePointAt(0) ?? 0}`);
    else out += c;
  }
  if (inSlash) throw new SelectorError('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** fields.EscapeValue: the inverse of unescapeFieldValue. */
export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/** Parses `a=b,c!=d` as fields.ParseSelector does (no whitespace trimming); throws SelectorError. */
export function parseFieldSelector(s: string): FieldSelector {
  const terms = splitTerms(s).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const requirements: FieldRequirement[] = [];
  for (const term of terms) {
    if (term === '') continue;
    const parts = splitTerm(term);
    if (parts === undefined) throw new SelectorError(`invalid selector: '${s}'; can't understand '${term}'`);
    const value = unescapeFieldValue(parts.rhs);
    requirements.push({ field: parts.lhs, operator: parts.op === '!=' ? '!=' : '=', value });
  }
  return { requirements };
}

/** True when every term holds; a field the object lacks reads as ''. */
export function matchesFields(sel: FieldSelector, fields: Record<string, string>): boolean {
  return sel.requirements.every((r) => {
    const v = Object.prototype.hasOwnProperty.call(fields, r.field) ? fields[r.field] : '';
    return r.operator === '=' ? v === r.value : v !== r.value;
  });
}

/** The canonical string form, values escaped. */
export function fieldSelectorToString(sel: FieldSelector): string {
  return sel.requirements.map((r) => `${r.field}${r.operator}${escapeFieldValue(r.value)}`).join(',');
}

/** The value a field selector on `name` requires exactly, if any (RequiresExactMatch). */
export function fieldRequiresExactMatch(sel: FieldSelector, field: string): string | undefined {
  return sel.requirements.find((r) => r.field === field && r.operator === '=')?.value;
}

interface FieldSupport {
  fields: readonly string[];
  /** Old names the API still accepts, mapped to the current one. */
  aliases?: Readonly<Record<string, string>>;
}

/**
 * Kinds with their own field label conversion in Kubernetes
 * (pkg/apis/core/v1/conversion.go and the registries' GetAttrs). Every
 * other kind accepts only metadata.name and metadata.namespace.
 */
const FIELD_SUPPORT: Readonly<Record<string, FieldSupport>> = {
  pods: {
    fields: [
      'metadata.name', 'metadata.namespace', 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName',
      'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.podIPs', 'status.nominatedNodeName',
    ],
    aliases: { 'spec.host': 'spec.nodeName' },
  },
  nodes: { fields: ['metadata.name', 'spec.unschedulable'] },
  events: {
    fields: [
      'involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion',
      'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type',
      'metadata.namespace', 'metadata.name',
    ],
  },
  namespaces: { fields: ['status.phase', 'metadata.name'] },
  secrets: { fields: ['type', 'metadata.namespace', 'metadata.name'] },
  services: { fields: ['metadata.namespace', 'metadata.name', 'spec.clusterIP', 'spec.type'] },
  'replicasets.apps': { fields: ['metadata.name', 'metadata.namespace', 'status.replicas'] },
};

/**
 * Checks every field against what the kind supports and returns the
 * selector with legacy names converted (pods' spec.host → spec.nodeName).
 * Throws SelectorError with Kubernetes' message, which becomes a 400.
 */
export function validateFieldSelector(groupResource: string, sel: FieldSelector): FieldSelector {
  const support = Object.prototype.hasOwnProperty.call(FIELD_SUPPORT, groupResource) ? FIELD_SUPPORT[groupResource] : undefined;
  const requirements = sel.requirements.map((r): FieldRequirement => {
    if (support === undefined) {
      if (r.field === 'metadata.name' || r.field === 'metadata.namespace') return r;
      // runtime.DefaultMetaV1FieldSelectorConversion's wording.
      throw new SelectorError(`${JSON.stringify(r.field)} is not a known field selector: only "metadata.name", "metadata.namespace"`);
    }
    const alias = support.aliases !== undefined && Object.prototype.hasOwnProperty.call(support.aliases, r.field) ? support.aliases[r.field] : undefined;
    if (alias !== undefined) return { ...r, field: alias };
    if (!support.fields.includes(r.field)) throw new SelectorError(`field label not supported: ${r.field}`);
    return r;
  });
  return { requirements };
}

// --- selectable field values per kind ---

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sub(v: unknown, key: string): unknown {
  return isRecord(v) ? v[key] : undefined;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function goBool(v: unknown): string {
  return v === true ? 'true' : 'false';
}

function goInt(v: unknown): string {
  return typeof v === 'number' && Number.isFinite(v) ? String(Math.trunc(v)) : '0';
}

/**
 * The selectable fields of an object, as the kind's registry GetAttrs
 * computes them; every kind has metadata.name and metadata.namespace
 * ('' for cluster-scoped objects).
 */
export function fieldsOf(groupResource: string, obj: object): Record<string, string> {
  const meta = sub(obj, 'metadata');
  const fields: Record<string, string> = {
    'metadata.name': text(sub(meta, 'name')),
    'metadata.namespace': text(sub(meta, 'namespace')),
  };
  const spec = sub(obj, 'spec');
  const status = sub(obj, 'status');
  switch (groupResource) {
    case 'pods': {
      fields['spec.nodeName'] = text(sub(spec, 'nodeName'));
      fields['spec.restartPolicy'] = text(sub(spec, 'restartPolicy'));
      fields['spec.schedulerName'] = text(sub(spec, 'schedulerName'));
      fields['spec.serviceAccountName'] = text(sub(spec, 'serviceAccountName'));
      fields['spec.hostNetwork'] = goBool(sub(spec, 'hostNetwork'));
      fields['status.phase'] = text(sub(status, 'phase'));
      const ips = sub(status, 'podIPs');
      const first = Array.isArray(ips) && ips.length > 0 ? text(sub(ips[0], 'ip')) : '';
      fields['status.podIP'] = first !== '' ? first : text(sub(status, 'podIP'));
      fields['status.nominatedNodeName'] = text(sub(status, 'nominatedNodeName'));
      break;
    }
    case 'nodes':
      fields['spec.unschedulable'] = goBool(sub(spec, 'unschedulable'));
      break;
    case 'events': {
      const io = sub(obj, 'involvedObject');
      for (const k of ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath']) {
        fields[`involvedObject.${k}`] = text(sub(io, k));
      }
      const reportingController = text(sub(obj, 'reportingComponent'));
      const component = text(sub(sub(obj, 'source'), 'component'));
      fields.reason = text(sub(obj, 'reason'));
      fields.reportingComponent = reportingController;
      fields.source = component !== '' ? component : reportingController;
      fields.type = text(sub(obj, 'type'));
      break;
    }
    case 'namespaces':
      fields['status.phase'] = text(sub(status, 'phase'));
      break;
    case 'secrets':
      fields.type = text(sub(obj, 'type'));
      break;
    case 'services':
      fields['spec.clusterIP'] = text(sub(spec, 'clusterIP'));
      fields['spec.type'] = text(sub(spec, 'type'));
      break;
    case 'replicasets.apps':
      fields['status.replicas'] = goInt(sub(status, 'replicas'));
      break;
  }
  return fields;
}
