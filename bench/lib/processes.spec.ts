import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageNodeOptions } from './processes';

describe('imageNodeOptions: the bench starts the app with the production image NODE_OPTIONS', () => {
  it("reads the project's Dockerfile: the heap budget the image ships with", () => {
    const dockerfile = readFileSync(join(__dirname, '..', '..', 'Dockerfile'), 'utf8');
    expect(imageNodeOptions(dockerfile)).toMatch(/^--max-old-space-size=\d+$/);
  });

  it('quoted or bare, and none when the image sets none', () => {
    expect(imageNodeOptions('FROM node\nENV NODE_OPTIONS="--a=1 --b"\nCMD x')).toBe('--a=1 --b');
    expect(imageNodeOptions('ENV NODE_OPTIONS=--a=1\n')).toBe('--a=1');
    expect(imageNodeOptions('FROM node\nENV NODE_ENV=production\n')).toBeUndefined();
  });
});
