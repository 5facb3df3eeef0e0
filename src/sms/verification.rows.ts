import { Locale } from '../common/locale';
import { Purpose } from '../common/purpose';
import { DeliveryChannel, VerificationStatus } from './verification.entity';

/** What VerificationRepository's statements take and answer. */

/** The columns the service reads back from its atomic statements. */
export interface VerificationRow {
  id: string;
  purpose: Purpose;
  twilio_sid: string | null;
  provider_sid: string | null;
  status: VerificationStatus;
  channel: DeliveryChannel;
  code_hash: string | null;
  locale: Locale;
  attempts: number;
  max_attempts: number;
  send_count: number;
  expires_at: Date;
  created_at: Date;
  updated_at: Date;
}

/** A verification that ended by expiring, as the statement that ended it answers. */
export interface EndedVerification {
  id: string;
  phone_number_hash: string;
  purpose: Purpose;
  channel: string;
  country_code: string | null;
  expires_at: Date;
}

/** A first send's row, before its provider is called. */
export interface NewVerification {
  id: string;
  phoneHash: string;
  purpose: Purpose;
  /** Our own sid (codes we check), or null until Twilio Verify answers with its own. */
  sid: string | null;
  channel: DeliveryChannel;
  codeHash: string | null;
  locale: Locale;
  country: string;
  maxAttempts: number;
  now: Date;
  expiresAt: Date;
  prefixHash: string;
  clientNetworkHash: string | null;
}

/** What the provider answered a first send with, for its verification's row. */
export interface ProviderSids {
  id: string;
  /** Twilio Verify's sid, answered to the client and used for checks. */
  verificationSid: string | null;
  messageSid: string | null;
}

/** What a resend's provider call changed. */
export interface ResendOutcome {
  id: string;
  codeHash: string | null;
  messageSid: string | null;
  verificationSid: string | null;
  channel: DeliveryChannel;
  /** A silent verification starts delivering: attempts start over, the lifetime is `expiresAt`. */
  startsDelivering: boolean;
  expiresAt: Date;
}

/** A code check's attempt, counted before its code is compared. */
export interface AttemptToCount {
  phoneHash: string;
  purpose: Purpose;
  now: Date;
}

/** A right code's approval, with the verification_token it issues. */
export interface Approval {
  id: string;
  now: Date;
  tokenHash: string;
  tokenExpiresAt: Date;
}
