import { validateRequest } from 'twilio';

/**
 * Checks X-Twilio-Signature (HMAC-SHA1 of the URL Twilio requested plus the sorted POST
 * parameters) with the official SDK, which compares in constant time and tries the URL with and
 * without an explicit :443/:80, as Twilio may sign either.
 */
export function isValidTwilioSignature(
  authToken: string,
  signature: string,
  url: string,
  params: Record<string, string>,
): boolean {
  return validateRequest(authToken, signature, url, params);
}
