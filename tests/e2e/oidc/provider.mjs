// A real third-party OpenID Connect provider for the hub's end-to-end tests.
//
// node's `oidc-provider` (OpenID certified), with its own development login and consent
// pages: any login name and any password sign in. Accounts:
//   login name  -> e-mail `<login>@<domain>` (a typed "@domain" suffix is dropped, unless
//                  --email-override is given: then a login `x@other.example` yields exactly
//                  that e-mail, like a hostile or misconfigured provider would),
//   email_verified -> true, except for the logins named in --unverified-logins,
//   groups      -> ["brand-admins"] when the login name starts with "admin", else [],
// and both e-mail and groups are put in the ID token, not only in userinfo.
//
// Settings, from `--name=value` arguments or environment variables:
//   --port           OIDC_PORT           (required)
//   --host           OIDC_HOST           default 127.0.0.1
//   --client-id      OIDC_CLIENT_ID      default hub-e2e
//   --client-secret  OIDC_CLIENT_SECRET  (required)
//   --redirect-uri   OIDC_REDIRECT_URI   (required) the hub's /auth/{brand}/callback
//   --domain         OIDC_DOMAIN         default thirdparty.example
//   --unverified-logins  OIDC_UNVERIFIED_LOGINS  comma-separated login names whose ID token
//                    says email_verified: false
//   --email-override OIDC_EMAIL_OVERRIDE "1"/"true" (or the bare flag): keep a typed "@domain"
//   --key-file       OIDC_KEY_FILE       the private signing key (JWK, JSON). Read when the
//                    file exists; otherwise a new key with a new, unique kid is made and
//                    written there. A restart with the same file keeps the key; a restart
//                    with a fresh path rotates it. Without it, every start makes a new key.
// Prints "ready <issuer> kid=<kid>" on stdout once it listens. Stops on SIGTERM / SIGINT.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string' },
    domain: { type: 'string' },
    'unverified-logins': { type: 'string' },
    'email-override': { type: 'boolean' },
    'key-file': { type: 'string' },
  },
  strict: true,
});

function setting(name, envName, fallback) {
  const value = args[name] ?? process.env[envName] ?? fallback;
  if (value === undefined || value === '') {
    console.error(`provider.mjs: missing --${name} (or ${envName})`);
    process.exit(2);
  }
  return value;
}

const port = Number.parseInt(setting('port', 'OIDC_PORT'), 10);
const host = setting('host', 'OIDC_HOST', '127.0.0.1');
const clientId = setting('client-id', 'OIDC_CLIENT_ID', 'hub-e2e');
const clientSecret = setting('client-secret', 'OIDC_CLIENT_SECRET');
const redirectUri = setting('redirect-uri', 'OIDC_REDIRECT_URI');
const domain = setting('domain', 'OIDC_DOMAIN', 'thirdparty.example').toLowerCase();
const unverifiedLogins = new Set(
  (args['unverified-logins'] ?? process.env.OIDC_UNVERIFIED_LOGINS ?? '')
    .split(',')
    .map((login) => login.trim().toLowerCase())
    .filter(Boolean),
);
const emailOverride =
  args['email-override'] ?? ['1', 'true'].includes((process.env.OIDC_EMAIL_OVERRIDE ?? '').toLowerCase());
const keyFile = args['key-file'] ?? process.env.OIDC_KEY_FILE;
const issuer = `http://${host}:${port}`;

// A signing key of our own (otherwise oidc-provider warns that it uses a development key),
// with a kid unique to this key, so a rotated key is told apart from the old one.
function newSigningKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `e2e-${port}-${randomBytes(6).toString('hex')}`;
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
}

function loadSigningKey() {
  if (!keyFile) return newSigningKey();
  if (existsSync(keyFile)) return JSON.parse(readFileSync(keyFile, 'utf8'));
  const key = newSigningKey();
  writeFileSync(keyFile, JSON.stringify(key), { mode: 0o600 });
  return key;
}

const signingKey = loadSigningKey();

function account(id) {
  const typed = String(id).trim().toLowerCase();
  const login = typed.split('@')[0];
  const email = emailOverride && typed.includes('@') ? typed : `${login}@${domain}`;
  return {
    accountId: id,
    async claims() {
      return {
        sub: id,
        email,
        email_verified: !unverifiedLogins.has(login),
        name: login,
        groups: login.startsWith('admin') ? ['brand-admins'] : [],
      };
    },
  };
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  async findAccount(ctx, id) {
    return account(id);
  },
  // `groups` rides on the openid scope, so it is released whenever an ID token is.
  claims: {
    openid: ['sub', 'groups'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  conformIdTokenClaims: false, // otherwise e-mail and groups would be in userinfo only
  features: { devInteractions: { enabled: true } }, // its own login + consent pages
  pkce: { required: () => true },
  jwks: { keys: [signingKey] },
  cookies: {
    keys: [`test-only-${port}`],
    names: {
      session: `_e2e_session_${port}`,
      interaction: `_e2e_interaction_${port}`,
      resume: `_e2e_resume_${port}`,
    },
  },
});

provider.on('server_error', (ctx, error) => {
  console.error('provider.mjs server_error:', error);
});

const server = provider.listen(port, host, () => {
  console.log(`ready ${issuer} kid=${signingKey.kid}`);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections(); // the hub's kept-alive connections would hold close() up
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
