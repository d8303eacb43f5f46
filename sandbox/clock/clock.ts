/** What an emulator needs from time: "now". The sandbox test clock in the app, a fixed clock in a spec. */
export abstract class Clock {
  abstract now(): Date;
}
