import { Module } from '@nestjs/common';
import { DashboardAssets } from './dashboard-assets';
import { DashboardController } from './dashboard.controller';

/** `GET /admin`: the operator dashboard page over the analytics and holds routes. */
@Module({
  controllers: [DashboardController],
  providers: [{ provide: DashboardAssets, useFactory: () => DashboardAssets.load() }],
})
export class DashboardModule {}
