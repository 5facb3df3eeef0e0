import { Injectable } from '@nestjs/common';
import { Purpose } from '../common/purpose';

export interface DeliveryTarget {
  e164: string;
  phoneHash: string;
  purpose: Purpose;
}

/** Answers false when this number must not receive this code; the client is not told. */
export type DeliveryFilter = (target: DeliveryTarget) => Promise<boolean>;

/**
 * Reasons to answer a send as usual but deliver nothing: a suppressed number that bounced
 * (registered by the SMS module, from sms/abuse/suppression/), a login code for a number without
 * an account (no account enumeration, docs/SECURITY.md rule 7). Other modules register their
 * filter here; the SMS module knows none of them.
 */
@Injectable()
export class DeliveryFilters {
  private readonly filters: { name: string; filter: DeliveryFilter }[] = [];

  register(name: string, filter: DeliveryFilter): void {
    this.filters.push({ name, filter });
  }

  /**
   * The name of the first filter (in registration order) that refuses, or undefined when delivery
   * may go ahead. Every filter is asked, all at once: stopping at the first refusal would make a
   * refused send quicker than a delivered one, and lookups started in one turn of the event loop
   * share their queries with the other checks of the send (NumberHistory's).
   */
  async refusal(target: DeliveryTarget): Promise<string | undefined> {
    const answers = await Promise.all(this.filters.map(({ filter }) => filter(target)));
    return this.filters.find((_filter, index) => !answers[index])?.name;
  }
}
