import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Hasher } from '../common/hasher';
import { RandomSource } from '../common/random';
import { Configuration } from '../config/configuration';
import { TwilioConfig } from './sms.config';
import { VerificationResponseDto } from './dto/verification-response.dto';
import { VerificationRow } from './verification.rows';

/**
 * A verification as the client sees it: Twilio Verify's resource, field for field, whichever
 * provider sent the code (or none did), so a silent send cannot be told from a real one.
 */
@Injectable()
export class VerificationResources {
  private readonly twilio: TwilioConfig;

  constructor(
    private readonly hasher: Hasher,
    private readonly random: RandomSource,
    config: ConfigService<Configuration, true>,
  ) {
    this.twilio = config.get('twilio', { infer: true });
  }

  of(row: VerificationRow, e164: string, approved: boolean): VerificationResponseDto {
    return {
      account_sid: this.twilio.accountSid ?? null,
      sid: row.twilio_sid ?? this.stableSid(row.id),
      service_sid: this.twilio.verifyServiceSid ?? this.twilio.messagingServiceSid ?? null,
      to: e164,
      channel: 'sms',
      status: approved ? 'approved' : 'pending',
      valid: approved,
      date_created: twilioDate(row.created_at),
      date_updated: twilioDate(row.updated_at),
    };
  }

  /**
   * A sid in Twilio's shape ("VE" + 32 hex) for a verification we answer ourselves: random, so it
   * tells nothing, not even when it was made (Twilio's own sids are random too).
   */
  newSid(): string {
    return `VE${this.random.hex(16)}`;
  }

  /** The sid of a row whose sid was never recorded: stable, and as random-looking as newSid(). */
  private stableSid(id: string): string {
    return `VE${this.hasher.hash('verification-sid', id).slice(0, 32)}`;
  }
}

/** ISO 8601 in whole seconds, as Twilio writes its dates ("2024-01-01T00:00:00Z"). */
function twilioDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
