import { Module } from '@nestjs/common';
import { NumbersCacheModule } from '../cache/numbers-cache.module';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { SuperfoneModule } from '../superfone/superfone.module';
import { AppsController } from './apps.controller';
import { MutationAudit } from './mutation-audit';
import { NumberLinks } from './number-links.service';

@Module({
  imports: [NumbersCacheModule, SuperfoneModule, IdempotencyModule],
  controllers: [AppsController],
  providers: [NumberLinks, MutationAudit],
})
export class AppsModule {}
