import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import Ajv2020, { ErrorObject, Options, ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HeaderBag, headerValue } from '../shared/headers';
import { AdyenOperationPath } from './adyen-api.types';

type JsonObject = Record<string, unknown>;

/** Adyen documents this limit only in prose ("a maximum of 64 characters"), not in the parameter schema. */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 64;

const SPEC_ID = 'https://checkout-test.adyen.com/v71/CheckoutService-v71.json';
const SPEC_FILE = join(__dirname, 'spec', 'CheckoutService-v71.json');

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `/amount/value` -> `amount.value`, `/lineItems/0/id` -> `lineItems[0].id`. */
function fieldName(instancePath: string, child?: string): string {
  const segments = instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) {
    segments.push(child);
  }
  return segments.reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), '');
}

function describe(value: unknown): string {
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

function formatError(e: ErrorObject): string {
  const field = fieldName(e.instancePath) || 'request body';
  const params: JsonObject = e.params;
  switch (e.keyword) {
    case 'required':
      return `${fieldName(e.instancePath, String(params.missingProperty))} is required`;
    case 'additionalProperties':
      return `${fieldName(e.instancePath, String(params.additionalProperty))} is not a known field here`;
    case 'enum': {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues.map(String).join(', ') : '';
      return `${field} must be one of [${allowed}] (got ${describe(e.data)})`;
    }
    case 'type':
      return `${field} must be of type ${String(params.type)} (got ${describe(e.data)})`;
    default:
      return `${field} ${e.message ?? 'is invalid'} (got ${describe(e.data)})`;
  }
}

const BRANCH_SCHEMA = /#\/components\/schemas\/([^/]+)/;

/**
 * Ajv reports a failed `oneOf` (e.g. `paymentMethod`, a oneOf of ~60 payment-method schemas) with the errors of
 * every branch. Keep only the closest branch: one whose `type` matched, with the fewest errors.
 */
function formatErrors(errors: ErrorObject[]): string[] {
  const oneOfs = errors
    .filter((e) => e.keyword === 'oneOf')
    .sort((a, b) => a.instancePath.length - b.instancePath.length);
  const within = (e: ErrorObject, f: ErrorObject): boolean =>
    e !== f && (e.instancePath === f.instancePath || e.instancePath.startsWith(`${f.instancePath}/`));
  const outer = oneOfs.filter(
    (f) => !oneOfs.some((g) => g.instancePath.length < f.instancePath.length && within(f, g)),
  );

  const lines: string[] = [];
  for (const e of errors) {
    if (!outer.some((f) => within(e, f)) && e.keyword !== 'oneOf') {
      lines.push(formatError(e));
    }
  }
  for (const f of outer) {
    const field = fieldName(f.instancePath) || 'request body';
    const params: JsonObject = f.params;
    if (Array.isArray(params.passingSchemas)) {
      const branches: unknown[] = Array.isArray(f.schema) ? f.schema : [];
      const names = params.passingSchemas.map((i: unknown) => {
        const branch = typeof i === 'number' ? branches[i] : undefined;
        const ref = isObject(branch) && typeof branch.$ref === 'string' ? branch.$ref : '';
        return BRANCH_SCHEMA.exec(ref)?.[1] ?? String(i);
      });
      lines.push(
        `${field} matches more than one allowed schema (${names.join(', ')}); set a distinguishing "type"`,
      );
      continue;
    }
    const branches = new Map<string, ErrorObject[]>();
    for (const e of errors.filter((x) => within(x, f))) {
      const name = BRANCH_SCHEMA.exec(e.schemaPath)?.[1] ?? 'inline';
      branches.set(name, [...(branches.get(name) ?? []), e]);
    }
    const typePath = `${f.instancePath}/type`;
    const candidates = [...branches.entries()]
      .filter(
        ([, errs]) => !errs.some((e) => e.instancePath === typePath && ['enum', 'const'].includes(e.keyword)),
      )
      .sort((a, b) => a[1].length - b[1].length);
    const closest = candidates[0];
    if (!closest) {
      lines.push(`${field} does not match any allowed schema (check its "type")`);
      continue;
    }
    lines.push(`${field} does not match any allowed schema; closest is ${closest[0]}:`);
    lines.push(...closest[1].map((e) => `  ${formatError(e)}`));
  }
  return [...new Set(lines)];
}

/**
 * Validates requests (and, for tests, responses) against Adyen's official Checkout API v71 OpenAPI 3.1 spec.
 * Schemas are compiled on first use per operation: compiling PaymentRequest alone takes a few hundred ms.
 *
 * Two compilations of the same spec: a `verdict` one that stops at the first error, which decides, and a `detail`
 * one (every error, with the failing data and schema) that only a refused request runs, for its messages. Ajv's
 * verdict does not depend on those options; collecting every error of `paymentMethod`'s ~60 `oneOf` branches did:
 * 58 against 13 µs for a valid card PaymentRequest, run by every payment the emulators take
 * (docs/performance-history.md, seventeenth pass).
 */
@Injectable()
export class AdyenSpecValidator implements OnApplicationBootstrap {
  private readonly verdict = new CompiledSpec(() => this.document(), {});
  private readonly detail = new CompiledSpec(() => this.document(), { allErrors: true, verbose: true });
  private spec?: JsonObject;

  /**
   * Compiles the /payments schemas at boot: compiled on the first request instead, they made that request
   * outlast the connector's gateway timeout on a loaded machine (real Adyen has no such first-call delay).
   * Only the verdict's: the detail is compiled on the first refusal.
   */
  onApplicationBootstrap(): void {
    for (const path of ['/payments', '/payments/details'] as const) {
      this.verdict.validator(this.requestSchema('post', path));
    }
  }

  /** Human-readable problems with the request; empty when it conforms to the spec. */
  validate(method: 'post', path: AdyenOperationPath, body: unknown, headers: HeaderBag = {}): string[] {
    const operation = this.operation(method, path);
    const problems = this.checkHeaders(operation, headers);
    const requestBody = this.deref(operation.requestBody);
    if (body === undefined && requestBody.required !== true) {
      return problems;
    }
    return [...problems, ...this.run(this.requestSchema(method, path, requestBody), body)];
  }

  private requestSchema(
    method: 'post',
    path: AdyenOperationPath,
    requestBody = this.deref(this.operation(method, path).requestBody),
  ): string {
    const schema = this.jsonSchemaRef(requestBody);
    if (!schema) {
      throw new Error(`spec has no JSON request body for ${method.toUpperCase()} ${path}`);
    }
    return schema;
  }

  /** Checks a response body against the schema the spec declares for that status (used by tests). */
  validateResponse(method: 'post', path: AdyenOperationPath, status: number, body: unknown): string[] {
    const responses = this.operation(method, path).responses;
    if (!isObject(responses)) {
      throw new Error(`spec has no responses for ${method.toUpperCase()} ${path}`);
    }
    const response = this.deref(responses[String(status)] ?? responses.default);
    const schema = this.jsonSchemaRef(response);
    if (!schema) {
      return [`spec declares no JSON response ${status} for ${method.toUpperCase()} ${path}`];
    }
    return this.run(schema, body);
  }

  private run(ref: string, body: unknown): string[] {
    const verdict = this.verdict.validator(ref);
    if (verdict(body)) {
      return [];
    }
    const detail = this.detail.validator(ref);
    return formatErrors((detail(body) ? verdict.errors : detail.errors) ?? []);
  }

  private checkHeaders(operation: JsonObject, headers: HeaderBag): string[] {
    const problems: string[] = [];
    const parameters = Array.isArray(operation.parameters) ? operation.parameters : [];
    for (const raw of parameters) {
      const parameter = this.deref(raw);
      if (parameter.in === 'header' && parameter.required === true && typeof parameter.name === 'string') {
        if (headerValue(headers, parameter.name) === undefined) {
          problems.push(`${parameter.name} header is required`);
        }
      }
    }
    const key = headerValue(headers, 'Idempotency-Key');
    if (key !== undefined) {
      if (key.length === 0) {
        problems.push('Idempotency-Key header must not be empty');
      } else if (key.length > IDEMPOTENCY_KEY_MAX_LENGTH) {
        problems.push(
          `Idempotency-Key header must be at most ${IDEMPOTENCY_KEY_MAX_LENGTH} characters (got ${key.length})`,
        );
      }
    }
    return problems;
  }

  private operation(method: 'post', path: AdyenOperationPath): JsonObject {
    const paths = this.document().paths;
    const item = isObject(paths) ? paths[path] : undefined;
    const operation = isObject(item) ? item[method] : undefined;
    if (!isObject(operation)) {
      throw new Error(`spec has no operation ${method.toUpperCase()} ${path}`);
    }
    return operation;
  }

  /** The `$ref` of `content['application/json'].schema` (always a component ref in Adyen's spec). */
  private jsonSchemaRef(holder: JsonObject): string | undefined {
    const content = holder.content;
    const json = isObject(content) ? content['application/json'] : undefined;
    const schema = isObject(json) ? json.schema : undefined;
    return isObject(schema) && typeof schema.$ref === 'string' ? schema.$ref : undefined;
  }

  /** Follows a local `$ref` (`#/components/...`) if the value is one. */
  private deref(value: unknown): JsonObject {
    if (!isObject(value)) {
      return {};
    }
    if (typeof value.$ref !== 'string') {
      return value;
    }
    let node: unknown = this.document();
    for (const segment of value.$ref.replace(/^#\//, '').split('/')) {
      node = isObject(node) ? node[segment.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
    }
    return this.deref(node);
  }

  private document(): JsonObject {
    if (!this.spec) {
      const parsed: unknown = JSON.parse(readFileSync(SPEC_FILE, 'utf8'));
      if (!isObject(parsed)) {
        throw new Error(`${SPEC_FILE} is not an OpenAPI document`);
      }
      this.spec = parsed;
    }
    return this.spec;
  }
}

/** One Ajv instance over the spec, its validators compiled per schema on first use. */
class CompiledSpec {
  private ajv?: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(
    private readonly spec: () => JsonObject,
    private readonly options: Pick<Options, 'allErrors' | 'verbose'>,
  ) {}

  validator(ref: string): ValidateFunction {
    let validate = this.compiled.get(ref);
    if (!validate) {
      validate = this.instance().getSchema(`${SPEC_ID}${ref}`);
      if (!validate) {
        throw new Error(`cannot resolve ${ref} in the Adyen spec`);
      }
      this.compiled.set(ref, validate);
    }
    return validate;
  }

  private instance(): Ajv2020 {
    if (!this.ajv) {
      // strict: false — the document is OpenAPI, not pure JSON Schema (example, x-* keywords, etc.).
      const ajv = new Ajv2020({ strict: false, ...this.options });
      addFormats(ajv);
      ajv.addSchema(this.spec(), SPEC_ID);
      this.ajv = ajv;
    }
    return this.ajv;
  }
}
