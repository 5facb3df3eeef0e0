import { Hasher } from '../../src/common/hasher';
import { PasswordHasher } from '../../src/auth/password/password-hasher';
import { UserRecord, UserRepository } from '../../src/auth/user.repository';
import { TestApp } from '../support/test-app';

const hashes = new Map<string, Promise<string>>();

/**
 * An account written straight to the database, for tests that need many of them (through HTTP
 * each would cost an SMS round trip). The password hash is computed once per password.
 */
export async function createUser(
  service: TestApp,
  options: { phoneNumber: string; password?: string; twoFactorEnabled?: boolean },
): Promise<UserRecord> {
  const password = options.password ?? 'factory-made-password-8';
  if (!hashes.has(password)) hashes.set(password, service.app.get(PasswordHasher).hash(password));
  const users = service.app.get(UserRepository);
  const user = await users.create({
    phoneNumber: options.phoneNumber,
    phoneNumberHash: service.app.get(Hasher).hash('phone', options.phoneNumber),
    passwordHash: await hashes.get(password)!,
    now: new Date(),
  });
  if (!user) throw new Error('the factory number already has an account');
  if (!options.twoFactorEnabled) return user;
  return (await users.setTwoFactor(user.id, true, new Date()))!;
}
