// The README's supabase-js snippet, taken from README.md and run as written with `node` (only
// the URL and the anon JWT replaced by the ones the banner printed), against a real walcast:
// an insert into todos reaches its console.log.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Walcast } from '../compat/lib/server.mjs';
import { waitUntil, WaitAborted } from '../compat/lib/wait.mjs';

const here = dirname(fileURLToPath(import.meta.url));
let server;
let child;
const snippetFile = join(here, `.snippet-${process.pid}.mjs`);

before(async () => {
  server = await Walcast.start();
});

after(async () => {
  child?.kill('SIGKILL');
  rmSync(snippetFile, { force: true });
  await server?.stop();
});

function readmeSnippet() {
  const readme = readFileSync(join(here, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### From supabase-js'));
  const m = /```js\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'README.md has a js block under "### From supabase-js"');
  return m[1];
}

it('runs as written on this Node and logs an inserted todo', async () => {
  const snippet = readmeSnippet();
  assert.ok(snippet.includes("'http://127.0.0.1:4000'") && snippet.includes("'<the printed anon JWT>'"),
    'the snippet uses the banner\'s default URL and the anon JWT placeholder');
  writeFileSync(snippetFile, snippet
    .replace("'http://127.0.0.1:4000'", JSON.stringify(server.httpUrl))
    .replace("'<the printed anon JWT>'", JSON.stringify(server.anonKey)));
  let out = '';
  child = spawn(process.execPath, [snippetFile], { cwd: here, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { out += d; });
  let exited = null;
  child.on('exit', (code) => { exited = code; });

  // The snippet prints nothing until a change arrives, so insert until one does: each insert
  // made before the channel is subscribed is (correctly) not delivered.
  const task = `readme-${process.pid}`;
  let n = 0;
  await waitUntil(async () => {
    if (exited !== null) throw new WaitAborted(`the snippet exited with ${exited}:\n${out}`);
    await server.sql('insert into todos (task) values ($1)', [`${task}-${n++}`]);
    return out.includes(`task: '${task}-`);
  }, { what: 'the snippet to log an INSERT', timeoutMs: 20_000, intervalMs: 200, dump: () => out });
  assert.match(out, /eventType: 'INSERT'/);
  assert.match(out, /table: 'todos'/);
});
