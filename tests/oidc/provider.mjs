// A real, standards-compliant OpenID provider on loopback, for the Travel ID tests (oidc-provider).
//
//   node tests/oidc/provider.mjs          prints its issuer URL (http://127.0.0.1:PORT) on stdout
//
// Environment: PORT (default 0: any free port), CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS (comma-separated
// callback URLs of the app under test), OTHER_CLIENT_ID, OTHER_CLIENT_SECRET (a second relying party).
//
// Test-only conveniences, on top of the standard endpoints:
//   GET  /interaction/:uid?sub=traveller-1   signs that test user in and grants the openid scope, with
//                                            no form (a login_hint works instead of ?sub=)
//   POST /__test__/tamper-next-id-token      {"claims": {...}, "foreignKey": bool} rewrites the next ID
//                                            token the token endpoint returns, re-signed with the
//                                            provider's key (or an unpublished one): a provider that
//                                            hands out a token for another audience, nonce, time.
import crypto from 'node:crypto';
import http from 'node:http';

import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from 'jose';
import Provider from 'oidc-provider';

const USERS = new Set(['traveller-1', 'traveller-2', 'traveller-3']);
const env = process.env;
const redirectUris = (env.REDIRECT_URIS ?? 'http://testserver/auth/travel-id/callback').split(',');

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'travel-id-test-1', alg: 'RS256', use: 'sig' };
const foreignKey = (await generateKeyPair('RS256')).privateKey;
let tamperNext = null;

function client(clientId, clientSecret) {
  return {
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  };
}

const configuration = {
  clients: [
    client(env.CLIENT_ID ?? 'milesgate-test', env.CLIENT_SECRET ?? 'milesgate-test-secret'),
    client(env.OTHER_CLIENT_ID ?? 'other-client', env.OTHER_CLIENT_SECRET ?? 'other-client-secret'),
  ],
  pkce: { required: () => true },
  scopes: ['openid'],
  claims: { openid: ['sub'] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  async findAccount(ctx, sub) {
    if (!USERS.has(sub)) return undefined;
    return { accountId: sub, claims: async () => ({ sub }) };
  },
  async renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
};

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

async function tampered(idToken, change) {
  const header = decodeProtectedHeader(idToken);
  const claims = { ...decodeJwt(idToken), ...(change.claims ?? {}) };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: header.alg, kid: header.kid })
    .sign(change.foreignKey ? foreignKey : privateKey);
}

async function finishInteraction(provider, ctx) {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params } = details;
  const result = {};
  let accountId = details.session?.accountId;
  if (prompt.name === 'login') {
    accountId = ctx.query.sub ?? params.login_hint;
    if (!USERS.has(accountId)) {
      ctx.status = 400;
      ctx.body = { error: 'unknown_test_user', known: [...USERS] };
      return;
    }
    result.login = { accountId };
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: params.client_id });
  grant.addOIDCScope(['openid', ...(prompt.details.missingOIDCScope ?? [])].join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  const grantId = await grant.save();
  if (!details.grantId) result.consent = { grantId };
  ctx.respond = false;
  await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
}

function testRoutes(provider) {
  return async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path.startsWith('/interaction/')) {
      await finishInteraction(provider, ctx);
      return;
    }
    if (ctx.method === 'POST' && ctx.path === '/__test__/tamper-next-id-token') {
      tamperNext = await readJson(ctx.req);
      ctx.status = 204;
      return;
    }
    await next();
    if (tamperNext && ctx.path === '/token' && ctx.status === 200 && ctx.body?.id_token) {
      ctx.body = { ...ctx.body, id_token: await tampered(ctx.body.id_token, tamperNext) };
      tamperNext = null;
    }
  };
}

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(env.PORT ?? 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
const provider = new Provider(issuer, configuration);
provider.use(testRoutes(provider));
server.on('request', provider.callback());
process.stdout.write(`${issuer}\n`);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
