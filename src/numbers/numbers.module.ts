import { Module } from '@nestjs/common';
import { NumbersCacheModule } from '../cache/numbers-cache.module';
import { NumbersController } from './numbers.controller';

@Module({ imports: [NumbersCacheModule], controllers: [NumbersController] })
export class NumbersModule {}
