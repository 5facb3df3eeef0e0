import { Verification } from '../sms/verification.entity';

/** Every TypeORM entity of the product; the migration check compares them with migrations/. */
export const ALL_ENTITIES: Function[] = [Verification];
