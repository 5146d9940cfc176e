/**
 * SASL for the submission server (RFC 4954): decoding of base64 responses, the PLAIN message
 * (RFC 4616 2) and the LOGIN dialog (draft-murchison-sasl-login: `Username:` then `Password:`
 * challenges). Pure: checking a secret is the caller's `authenticate` input.
 *
 * Contract: `decodeBase64` returns undefined for anything that is not canonical base64 (RFC 4648 4);
 * `parsePlain` returns `undecodable` (answer 501) for bad base64 and `invalid` (answer 535) for a
 * malformed message or an authorization identity different from the authentication identity (mxsec
 * has no proxy authorisation).
 */

/** `334 VXNlcm5hbWU6` and `334 UGFzc3dvcmQ6`: the LOGIN challenges, base64 of `Username:` / `Password:`. */
export const LOGIN_USERNAME = 'VXNlcm5hbWU6';
export const LOGIN_PASSWORD = 'UGFzc3dvcmQ6';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Strict base64 to UTF-8 text; undefined when not base64 or not UTF-8. */
export function decodeBase64(text: string): string | undefined {
  if (!BASE64.test(text)) return undefined;
  try {
    return decoder.decode(Buffer.from(text, 'base64'));
  } catch {
    return undefined;
  }
}

export interface Credentials {
  readonly user: string;
  readonly secret: string;
}

/** RFC 4616 2: `[authzid] NUL authcid NUL passwd`. The `=` initial response (RFC 4954 4) means empty. */
export function parsePlain(response: string): Credentials | 'undecodable' | 'invalid' {
  const text = response === '=' ? '' : decodeBase64(response);
  if (text === undefined) return 'undecodable';
  const parts = text.split('\u0000');
  if (parts.length !== 3) return 'invalid';
  const [authzid, user, secret] = parts as [string, string, string];
  if (user === '' || secret === '') return 'invalid';
  if (authzid !== '' && authzid !== user) return 'invalid';
  return { user, secret };
}

/** One LOGIN response: base64 text, or undefined when malformed. */
export function parseLoginResponse(response: string): string | undefined {
  return decodeBase64(response);
}
