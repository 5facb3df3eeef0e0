import { DeliveryFilter } from '../sms/delivery-filters';
import { UserRepository } from './user.repository';

/**
 * No account enumeration (docs/SECURITY.md rule 7): send-verification answers as usual for every
 * number, but a code is delivered only where it can be used. Registration codes go to numbers
 * without an account; login and reset codes to numbers with one; two-factor codes to an
 * account's verified number. The rest get a random code nobody knows.
 */
export function accountDeliveryFilter(users: UserRepository): DeliveryFilter {
  return async ({ phoneHash, purpose }) => {
    const account = await users.phoneStatus(phoneHash);
    switch (purpose) {
      case 'registration':
        return account === 'none';
      case 'login':
      case 'password_reset':
        return account !== 'none';
      case 'two_factor':
        return account === 'verified';
    }
  };
}
