import { Global, Module } from '@nestjs/common';
import { OperatorGuard } from './operator.guard';

@Global()
@Module({ providers: [OperatorGuard], exports: [OperatorGuard] })
export class OperatorModule {}
