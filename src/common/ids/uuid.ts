const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a string is a UUID (so a `uuid` column can be compared with it without a cast error). */
export const isUuid = (value: string): boolean => UUID.test(value);
