// The JavaScript agent (@icp-sdk/core) against `factoryctl serve`: it fetches
// the root key, calls the factory through bindings that @icp-sdk/bindgen
// generated from factory/factory.did (`npm test` regenerates them), and
// refuses a response whose certificate was tampered with on the way; a
// delegated session key acts as the identity that delegated to it.
//
// Run with `npm ci && npm test` here; FACTORYCTL names the binary (default:
// the workspace's target/debug/factoryctl, built by scripts/test.sh).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Actor, HttpAgent, Cbor } from '@icp-sdk/core/agent';
import { DelegationChain, DelegationIdentity, Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { idlFactory } from './generated/factory.did.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const factoryctl = process.env.FACTORYCTL ?? join(root, 'target', 'debug', 'factoryctl');
const dir = mkdtempSync(join(tmpdir(), 'factory-node-'));
const state = join(dir, 'net');
const admin = Ed25519KeyIdentity.generate();
const alice = Ed25519KeyIdentity.generate();
let server; // the `factoryctl serve` child
let url; // http://127.0.0.1:PORT
let factory; // the factory's canister id (text)

function ctl(...args) {
  return execFileSync(factoryctl, ['--state-dir', state, ...args], { encoding: 'utf8' });
}

before(async () => {
  // Deployed on the embedded network with our admin, a release published, then served.
  factory = ctl('deploy', '--admin', admin.getPrincipal().toText()).split('\n')[0].replace('factory ', '').trim();
  const v1 = join(dir, 'v1.wasm.gz');
  ctl('tag', join(root, 'target', 'canisters', 'user_canister.wasm.gz'), '--version', '1.0.0', '-o', v1);
  ctl('--as', admin.getPrincipal().toText(), 'publish', v1, '--version', '1.0.0', '--approve');
  server = spawn(factoryctl, ['--state-dir', state, 'serve', '--port', '0', '--round-ms', '50', '--for', '300'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const first = await new Promise((resolve, reject) => {
    createInterface({ input: server.stdout }).once('line', resolve);
    server.once('exit', (code) => reject(new Error(`factoryctl serve exited: ${code}`)));
  });
  url = first.split(/\s+/).find((w) => w.startsWith('http://127.0.0.1:'));
  assert.ok(url, `no URL in: ${first}`);
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill();
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

async function agentAs(identity, host = url) {
  return HttpAgent.create({ host, identity, shouldFetchRootKey: true, verifyQuerySignatures: true });
}

function factoryActor(agent) {
  return Actor.createActor(idlFactory, { agent, canisterId: factory });
}

test('the agent fetches the root key that /api/v2/status serves', async () => {
  const agent = await agentAs(alice);
  const status = Cbor.decode(new Uint8Array(await (await fetch(`${url}/api/v2/status`)).arrayBuffer()));
  assert.ok(agent.rootKey, 'a root key was fetched');
  // A DER-wrapped BLS12-381 G2 key: 37 bytes of prefix, 96 of key.
  assert.equal(agent.rootKey.length, 133);
  assert.deepEqual(Buffer.from(agent.rootKey), Buffer.from(status.root_key));
});

test('provision and rollout_status through the bindgen bindings', async () => {
  const recovery = Ed25519KeyIdentity.generate().getPrincipal();
  const asAlice = factoryActor(await agentAs(alice));
  const provisioned = await asAlice.provision({ recovery });
  assert.ok('Ok' in provisioned, JSON.stringify(provisioned, (_, v) => (typeof v === 'bigint' ? `${v}` : v)));
  const canister = provisioned.Ok;
  assert.match(canister.toText(), /^[a-z0-9-]+-cai$/);
  const mine = await asAlice.my_canister();
  assert.ok('Ok' in mine, 'Alice finds her canister');

  // rollout_status is for admins: Alice is refused, the admin sees no rollout.
  const refused = await asAlice.rollout_status();
  assert.ok('Err' in refused, 'a user may not read the rollout status');
  const status = await factoryActor(await agentAs(admin)).rollout_status();
  assert.ok('Ok' in status, JSON.stringify(Object.keys(status)));
  assert.deepEqual(status.Ok.active, []);
  assert.equal(status.Ok.in_flight, 0);
});

test('a delegated session key acts as the identity that delegated to it', async () => {
  // As Internet Identity hands a browser a session key: Alice's key delegates to it for 5 minutes.
  const session = Ed25519KeyIdentity.generate();
  const chain = await DelegationChain.create(alice, session.getPublicKey(), new Date(Date.now() + 5 * 60 * 1000));
  const delegated = DelegationIdentity.fromDelegation(session, chain);
  assert.equal(delegated.getPrincipal().toText(), alice.getPrincipal().toText());
  const mine = await factoryActor(await agentAs(delegated)).my_canister();
  assert.ok('Ok' in mine, 'the factory sees Alice, who provisioned before');
});

/// A proxy in front of the server that flips one byte of the signature of
/// every certificate a call's answer carries (v3/v4 synchronous calls).
async function tamperingProxy() {
  const proxy = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const upstream = await fetch(url + req.url, {
      method: req.method,
      headers: { 'content-type': req.headers['content-type'] ?? 'application/cbor' },
      body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
    });
    let body = new Uint8Array(await upstream.arrayBuffer());
    if (upstream.ok && /\/canister\/[^/]+\/call$/.test(req.url)) {
      const answer = Cbor.decode(body);
      if (answer?.certificate) {
        const cert = Cbor.decode(answer.certificate);
        cert.signature = Uint8Array.from(cert.signature);
        cert.signature[cert.signature.length - 1] ^= 1;
        answer.certificate = Cbor.encode(cert);
        body = Cbor.encode(answer);
        proxy.tampered += 1;
      }
    }
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/cbor' });
    res.end(Buffer.from(body));
  });
  proxy.tampered = 0;
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return proxy;
}

test('a tampered certificate is refused by the agent', async () => {
  const proxy = await tamperingProxy();
  try {
    const host = `http://127.0.0.1:${proxy.address().port}`;
    const bob = factoryActor(await agentAs(Ed25519KeyIdentity.generate(), host));
    // A query passes (it is signed by the node, not certified): the proxy is transparent.
    const version = await bob.version();
    assert.ok(version, 'the query went through the proxy');
    await assert.rejects(
      bob.provision({ recovery: Ed25519KeyIdentity.generate().getPrincipal() }),
      (e) => /certificate|signature/i.test(`${e?.name} ${e?.message}`),
    );
    assert.ok(proxy.tampered > 0, 'a certificate went through the proxy');
  } finally {
    proxy.close();
  }
});
