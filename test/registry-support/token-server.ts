import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import forge from 'node-forge';

/**
 * A distribution token server on 127.0.0.1 for tests. Tokens are RS256 JWTs whose header carries
 * the signing certificate in `x5c`; the same self-signed certificate is the registry's
 * `rootcertbundle`, so distribution 2.8 accepts the chain (it tries `x5c`, then `jwk`, then `kid`).
 * Claims: iss, sub, aud (= service), exp, nbf, iat, jti, access[{type,name,actions}].
 */
export interface TokenServerOptions {
  service?: string;
  issuer?: string;
  /** user → password; Basic credentials are checked against it. */
  users?: Record<string, string>;
  /** Grant pull to requests without credentials (push always needs a user). Default false. */
  anonymousPull?: boolean;
  /** `expires_in` reported and used for `exp`. Default 300. */
  expiresIn?: number;
}

export interface TokenRequestRecord {
  scopes: string[];
  user: string | undefined;
  status: number;
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certPem: string;
  requests: TokenRequestRecord[];
  /** Every token issued (to check that none leaks into errors or events). */
  issued: string[];
  /** Changes `expires_in` for tokens issued from now on. */
  setExpiresIn(seconds: number): void;
  /**
   * The next `n` tokens are already expired (exp more than the registry's 60 s leeway in the past)
   * while the response still says `expires_in: 300`: the registry rejects them mid-run.
   */
  issueStaleTokens(n: number): void;
  close(): Promise<void>;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function selfSignedCert(): { certPem: string; keyPem: string; certDerB64: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 3_600_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  const name = [{ name: 'commonName', value: 'streamguard test token signer' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', keyCertSign: true, digitalSignature: true },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  const der = forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes();
  return { certPem, keyPem, certDerB64: Buffer.from(der, 'binary').toString('base64') };
}

export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const service = options.service ?? 'streamguard-test-registry';
  const issuer = options.issuer ?? 'streamguard-test-issuer';
  const users = options.users ?? {};
  let expiresIn = options.expiresIn ?? 300;
  let stale = 0;
  const { certPem, keyPem, certDerB64 } = selfSignedCert();
  const key = createPrivateKey(keyPem);
  const requests: TokenRequestRecord[] = [];
  const issued: string[] = [];

  const issue = (
    user: string | undefined,
    scopes: string[],
  ): { token: string; expired: boolean } => {
    const now = Math.floor(Date.now() / 1000);
    const expired = stale > 0;
    if (expired) stale--;
    const access = scopes.flatMap((scope) => {
      const colon = scope.lastIndexOf(':');
      const resource = scope.slice(0, colon);
      const firstColon = resource.indexOf(':');
      const type = resource.slice(0, firstColon);
      const name = resource.slice(firstColon + 1);
      const actions = scope
        .slice(colon + 1)
        .split(',')
        .filter((a) => a === 'pull' || (a === 'push' && user !== undefined));
      return type === 'repository' && actions.length > 0 ? [{ type, name, actions }] : [];
    });
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDerB64] };
    const claims = {
      iss: issuer,
      sub: user ?? '',
      aud: service,
      exp: expired ? now - 600 : now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = sign('RSA-SHA256', Buffer.from(signingInput), key);
    return { token: `${signingInput}.${base64url(signature)}`, expired };
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const scopes = url.searchParams.getAll('scope');
    let user: string | undefined;
    const authorization = req.headers.authorization;
    if (authorization?.startsWith('Basic ')) {
      const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const name = decoded.slice(0, colon);
      if (colon < 0 || users[name] === undefined || users[name] !== decoded.slice(colon + 1)) {
        requests.push({ scopes, user: name, status: 401 });
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
        return;
      }
      user = name;
    } else if (!options.anonymousPull) {
      requests.push({ scopes, user: undefined, status: 401 });
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'login required' }] }));
      return;
    }
    if (url.pathname !== '/token' || url.searchParams.get('service') !== service) {
      requests.push({ scopes, user, status: 400 });
      res.writeHead(400).end();
      return;
    }
    requests.push({ scopes, user, status: 200 });
    const { token, expired } = issue(user, scopes);
    issued.push(token);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        token,
        access_token: token,
        expires_in: expired ? 300 : expiresIn,
        issued_at: new Date().toISOString(),
      }),
    );
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPem,
    requests,
    issued,
    setExpiresIn(seconds) {
      expiresIn = seconds;
    },
    issueStaleTokens(n) {
      stale = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
