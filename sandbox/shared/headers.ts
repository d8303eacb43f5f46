/** Request headers as Node or a test hands them over: names in any case, repeated ones as arrays. */
export type HeaderBag = Readonly<Record<string, string | string[] | undefined>>;

/** A header by case-insensitive name, repeated values joined as Express's `req.header()` joins them. */
export function headerValue(headers: HeaderBag, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) {
      return Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return undefined;
}
