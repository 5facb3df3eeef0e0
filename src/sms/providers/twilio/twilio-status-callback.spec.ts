import { RequestValidationError } from '../../../common/errors/product-error';
import {
  describeDeliveryError,
  messageStatusRank,
  parseStatusCallback,
} from './twilio-status-callback';

const SID = `SM${'0a'.repeat(16)}`;

describe('Twilio status callbacks', () => {
  it("reads Twilio's form, old parameter names included, and ignores parameters it does not know", () => {
    expect(
      parseStatusCallback({
        MessageSid: SID,
        MessageStatus: 'delivered',
        ApiVersion: '2010-04-01',
      }),
    ).toEqual({ messageSid: SID, status: 'delivered', errorCode: undefined });
    expect(
      parseStatusCallback({ SmsSid: SID, SmsStatus: 'undelivered', ErrorCode: '30003' }),
    ).toEqual({ messageSid: SID, status: 'undelivered', errorCode: '30003' });
  });

  it('refuses a form that is not a Messaging status callback, saying what is wrong', () => {
    const refused = (() => {
      try {
        parseStatusCallback({ MessageSid: 'VE123', MessageStatus: 'Delivered!', ErrorCode: 'x' });
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(RequestValidationError);
    expect((refused as RequestValidationError).message).toBe(
      'MessageSid must be a Twilio message sid; MessageStatus must be a Twilio message status; ErrorCode must be numeric',
    );
  });

  it('orders statuses so that a callback only moves a message forward', () => {
    expect(messageStatusRank('sent')!).toBeLessThan(messageStatusRank('delivered')!);
    expect(messageStatusRank('undelivered')).toBe(messageStatusRank('delivered'));
    expect(messageStatusRank('read')!).toBeGreaterThan(messageStatusRank('delivered')!);
    for (const unknown of ['constructor', 'to_string', '__proto__', 'opened']) {
      expect(messageStatusRank(unknown)).toBeUndefined();
    }
  });

  it('explains delivery error codes to an operator', () => {
    expect(describeDeliveryError('30003')).toBe('Unreachable destination handset');
    expect(describeDeliveryError('99999')).toBe('Delivery error');
  });
});
