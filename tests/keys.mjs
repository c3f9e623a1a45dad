// The variant key layout (viewer-fn/src/key.rs): {prefix}/{source key}/{generation}/{transform}.{format}.
// The generation comes from the committed viewer function, which viewer-fn's tests keep current.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const js = readFileSync(resolve(import.meta.dirname, '../viewer-fn/generated/viewer-request.js'), 'utf8');
/** The current generation segment, e.g. `g529162a`. */
export const G = /"g":"(g[0-9a-f]{7})"/.exec(js)[1];
