import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Numbers that bounced permanently (30003, 30005, 30006…): sends answer as usual, deliver nothing. */
@Entity('sms_suppressions')
@Index('idx_sms_suppressions_expires', ['expiresAt'])
export class SmsSuppression {
  @PrimaryColumn({ name: 'phone_hash', type: 'varchar', length: 64 })
  phoneHash: string;

  @Column({ name: 'error_code', type: 'varchar', length: 16 })
  errorCode: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}
