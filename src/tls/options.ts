import type { SecureContextOptions } from 'node:tls';

/**
 * TLS 1.2 suites we accept: forward secrecy (ECDHE) and AEAD only (AES-GCM, ChaCha20-Poly1305),
 * i.e. Mozilla's "intermediate" profile. ECDSA first: it is cheaper when the certificate is
 * ECDSA (e.g. issued by cert-manager); RSA entries serve our own self-signed RSA certificates.
 * No CBC, no static-RSA key exchange, no SHA-1 MACs.
 */
const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/**
 * Options for `https.createServer`, `tls.createServer` and `server.setSecureContext`. Spread them
 * into every secure context: `setSecureContext` builds a fresh context and anything not passed
 * falls back to Node's defaults.
 */
export const TLS_SERVER_OPTIONS: Readonly<
  Required<Pick<SecureContextOptions, 'minVersion' | 'ciphers' | 'honorCipherOrder' | 'ecdhCurve'>>
> = Object.freeze({
  // TLS 1.0/1.1 are deprecated (RFC 8996); the API server's webhook client speaks 1.2 and 1.3.
  minVersion: 'TLSv1.2',
  // Node hands names starting with TLS_ to OpenSSL's TLS 1.3 list; naming none leaves the TLS 1.3
  // defaults (all AEAD) in force, so this string only restricts TLS 1.2.
  ciphers: TLS12_CIPHERS,
  // Pick from our ordered list rather than the client's, so a client that prefers a weaker (but
  // still allowed) suite does not get it.
  honorCipherOrder: true,
  // X25519 is fast and misuse-resistant; P-256/P-384 for clients (FIPS builds) without it.
  ecdhCurve: 'X25519:P-256:P-384',
});

/** The secure-context options for one certificate and key: house options plus the pair. */
export function secureContextOptions(pair: {
  certPem: string;
  keyPem: string;
}): SecureContextOptions {
  return { ...TLS_SERVER_OPTIONS, cert: pair.certPem, key: pair.keyPem };
}
