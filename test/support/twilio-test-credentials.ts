/** Credentials the app and the fake Twilio agree on; never real ones. */
export const TEST_TWILIO = {
  accountSid: 'AC0123456789abcdef0123456789abcdef',
  authToken: 'test-auth-token-0123456789abcdef',
  verifyServiceSid: 'VA0123456789abcdef0123456789abcdef',
  messagingServiceSid: 'MG0123456789abcdef0123456789abcdef',
};
