/**
 * Bearer-token checks that run on LLRT as well as Node.js: LLRT's `crypto` has no `timingSafeEqual` (LLRT API.md,
 * "crypto"), so the comparison below is plain JavaScript that does not stop at the first differing byte.
 */

/** The token of an `Authorization: Bearer <token>` header; undefined when absent or in another format. */
export function bearerToken(header: string | undefined | null): string | undefined {
  if (!header) return undefined;
  // The auth scheme is case-insensitive (RFC 9110 11.1); the token itself is compared exactly.
  const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/**
 * Compares a presented secret with the expected one in time that depends only on the expected secret's length, so
 * response times do not reveal how many leading characters an attacker guessed right.
 */
export function constantTimeEqual(presented: string, expected: string): boolean {
  const encoder = new TextEncoder();
  const a = encoder.encode(presented);
  const b = encoder.encode(expected);
  if (b.length === 0) return false;
  let difference = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) difference |= (a[i] ?? 0) ^ b[i];
  return difference === 0;
}
