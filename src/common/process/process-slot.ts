/**
 * One process-wide value that a module installs at boot and removes at shutdown (plain functions such as
 * `callGateway` read it without dependency injection). Several apps can live in one process (tests): removing takes
 * the value being removed, so an app closing never removes the one a newer app installed.
 */
export class ProcessSlot<T> {
  private value: T | undefined;

  install(value: T): void {
    this.value = value;
  }

  remove(value: T): void {
    if (this.value === value) {
      this.value = undefined;
    }
  }

  get(): T | undefined {
    return this.value;
  }
}
