import { randomUUID } from 'node:crypto';

/** The slice of an OpenAPI 3 document the fuzzer reads. */
export interface OpenApiSchema {
  type?: string;
  format?: string;
  enum?: unknown[];
  example?: unknown;
  default?: unknown;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  items?: OpenApiSchema;
  allOf?: OpenApiSchema[];
  $ref?: string;
}

interface OpenApiParameter {
  in: 'path' | 'query' | 'header' | 'cookie';
  name: string;
  required?: boolean;
}

interface OpenApiOperation {
  parameters?: OpenApiParameter[];
  requestBody?: { content?: Record<string, { schema?: OpenApiSchema }> };
  security?: Record<string, unknown>[];
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, OpenApiSchema> };
}

export interface FuzzOperation {
  method: string;
  /** OpenAPI template, e.g. /v1/payments/{id} */
  path: string;
  pathParams: string[];
  queryParams: string[];
  /** a valid body built from the schema (examples, enums, formats), or undefined without a JSON body */
  validBody?: Record<string, unknown>;
  /** the security schemes that may authenticate it; empty: public */
  security: string[];
}

const HTTP_METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

/** Every operation of the document, in document order. */
export function operationsOf(doc: OpenApiDocument): FuzzOperation[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.has(method))
      .map(([method, op]) => {
        const params = op.parameters ?? [];
        const schema = op.requestBody?.content?.['application/json']?.schema;
        const body = schema ? exampleOf(schema, doc) : undefined;
        return {
          method: method.toUpperCase(),
          path,
          pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
          queryParams: params.filter((p) => p.in === 'query').map((p) => p.name),
          ...(isRecord(body) ? { validBody: body } : {}),
          security: (op.security ?? []).flatMap((s) => Object.keys(s)),
        };
      }),
  );
}

function resolve(schema: OpenApiSchema, doc: OpenApiDocument): OpenApiSchema {
  if (schema.$ref) {
    const name = schema.$ref.split('/').pop() ?? '';
    return resolve(doc.components?.schemas?.[name] ?? {}, doc);
  }
  if (schema.allOf && schema.allOf.length > 0) {
    return schema.allOf.reduce<OpenApiSchema>((merged, part) => ({ ...merged, ...resolve(part, doc) }), {
      ...schema,
      allOf: undefined,
    });
  }
  return schema;
}

/** A value the schema accepts, preferring the document's own examples. */
function exampleOf(raw: OpenApiSchema, doc: OpenApiDocument): unknown {
  const schema = resolve(raw, doc);
  if (schema.example !== undefined) {
    return structuredClone(schema.example);
  }
  if (schema.enum && schema.enum.length > 0) {
    return schema.enum[0];
  }
  if (schema.default !== undefined) {
    return schema.default;
  }
  switch (schema.type) {
    case 'string':
      return schema.format === 'uuid' ? randomUUID() : 'fuzz';
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return true;
    case 'array':
      return schema.items ? [exampleOf(schema.items, doc)] : [];
    default:
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([name, child]) => [name, exampleOf(child, doc)]),
      );
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
