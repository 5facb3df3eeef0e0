import { RequestValidationError } from '../../../common/errors/product-error';

/**
 * Twilio Messaging's status callbacks, in Twilio's vocabulary: the form it posts, the order its
 * MessageStatus values happen in, and what its delivery error codes mean.
 */

/** What a status callback says about one message. */
export interface MessageStatusUpdate {
  messageSid: string;
  status: string;
  errorCode?: string;
}

const MESSAGE_SID = /^(SM|MM)[0-9a-fA-F]{32}$/;
const MESSAGE_STATUS = /^[a-z_]{3,20}$/;
const ERROR_CODE = /^\d{1,6}$/;

/**
 * The update a status callback's form carries. The form is read as Twilio's, not as a DTO: Twilio
 * adds parameters over time, and refusing an unknown one would lose deliveries.
 */
export function parseStatusCallback(form: Record<string, string | undefined>): MessageStatusUpdate {
  const messageSid = form.MessageSid ?? form.SmsSid;
  const status = form.MessageStatus ?? form.SmsStatus;
  const errorCode = form.ErrorCode;
  const problems: string[] = [];
  if (!messageSid || !MESSAGE_SID.test(messageSid))
    problems.push('MessageSid must be a Twilio message sid');
  if (!status || !MESSAGE_STATUS.test(status))
    problems.push('MessageStatus must be a Twilio message status');
  if (errorCode !== undefined && errorCode !== '' && !ERROR_CODE.test(errorCode)) {
    problems.push('ErrorCode must be numeric');
  }
  if (problems.length > 0) throw new RequestValidationError(problems);
  return { messageSid: messageSid!, status: status!, errorCode: errorCode || undefined };
}

/**
 * Twilio MessageStatus values in the order they can happen. A callback only ever moves a message
 * forward, so duplicates and late arrivals (a `sent` after `delivered`) change nothing.
 */
const STATUS_RANK: Record<string, number> = {
  accepted: 0,
  scheduled: 0,
  queued: 0,
  sending: 1,
  sent: 2,
  delivered: 3,
  undelivered: 3,
  failed: 3,
  canceled: 3,
  read: 4,
};

/** Where a MessageStatus stands in that order; undefined for a status Twilio does not send. */
export function messageStatusRank(status: string): number | undefined {
  return Object.hasOwn(STATUS_RANK, status) ? STATUS_RANK[status] : undefined;
}

/** Twilio delivery error codes and what they mean for an operator. */
export const DELIVERY_ERRORS: Record<string, string> = {
  '30001': 'Queue overflow',
  '30002': 'Account suspended',
  '30003': 'Unreachable destination handset',
  '30004': 'Message blocked',
  '30005': 'Unknown destination handset',
  '30006': 'Landline or unreachable carrier',
  '30007': 'Carrier filtering (message flagged as spam)',
  '30008': 'Unknown error',
  '30009': 'Missing segment',
  '30010': 'Message price exceeds max price',
  '30034': 'Unregistered sender',
};

export function describeDeliveryError(code: string): string {
  return DELIVERY_ERRORS[code] ?? 'Delivery error';
}
