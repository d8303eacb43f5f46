import { CronTime } from 'cron';

/** undefined when `expression` is a valid cron expression for @nestjs/schedule, else why not. */
export function checkCronExpression(expression: string): string | undefined {
  try {
    new CronTime(expression);
    return undefined;
  } catch (err) {
    return `"${expression}" is not a cron expression: ${err instanceof Error ? err.message : String(err)}`;
  }
}
