#!/usr/bin/env node
// npm run migration:create -- AddRefunds  ->  migrations/<timestamp>-AddRefunds.ts (raw SQL, then list it in migrations/index.ts)
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const name = process.argv[2];
if (!name || !/^[A-Z][A-Za-z0-9]+$/.test(name)) {
  console.error('usage: npm run migration:create -- <PascalCaseName>');
  process.exit(1);
}
const ts = Date.now();
const file = join(__dirname, '..', 'migrations', `${ts}-${name}.ts`);
writeFileSync(
  file,
  `import { MigrationInterface, QueryRunner } from 'typeorm';

export class ${name}${ts} implements MigrationInterface {
  name = '${name}${ts}';

  async up(q: QueryRunner): Promise<void> {
    await q.query(\`\`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(\`\`);
  }
}
`,
);
console.log(`created ${file}\nadd ${name}${ts} to migrations/index.ts`);
