/**
 * `npm run openapi`: writes the document the service serves at /docs-json to openapi.json at the
 * repository root, the contract company apps generate clients from. A test fails when the two
 * differ, so a change to the API shows in review as a change to this file.
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApp } from '../src/app.factory';
import { loadConfig } from '../src/config/load-config';
import { buildDocument } from '../src/openapi/openapi';

/** Where the committed document lives. */
export const OPENAPI_FILE = join(__dirname, '..', '..', 'openapi.json');

/** The document as it is committed: two-space JSON and a final newline. */
export function serializeDocument(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

async function main(): Promise<void> {
  // Settings only so that the app boots; none of them shows in the document.
  const config = loadConfig({
    SUPERFONE_API_KEY: 'openapi-document-only',
    SUPERFONE_BASE_URL: 'http://127.0.0.1:9/superfone',
    CLIENT_KEYS: JSON.stringify([
      { id: 'openapi', keySha256: '0'.repeat(64), scopes: ['numbers:read'] },
    ]),
    LOG_LEVEL: 'error',
  });
  const app = await createApp(config, { logDestination: { write: () => undefined } });
  await app.init();
  try {
    writeFileSync(OPENAPI_FILE, serializeDocument(await buildDocument(app)));
    process.stdout.write(`wrote ${OPENAPI_FILE}\n`);
  } finally {
    await app.close();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
