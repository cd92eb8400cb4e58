/**
 * The framework floor: a minimal NestJS 12 app on the Fastify adapter, one controller writing the
 * same pre-serialized bytes, no guards, hooks, logging or metrics. What superfone-bff loses beyond
 * this row is the price of its own features (auth, rate limit, ETag, Cache-Status, log line).
 * Env: PORT, BODY_FILE, CONTENT_TYPE.
 */
import type { NestApplicationOptions } from '@nestjs/common';
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { Controller, Get, Module, Res } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';

const body = readFileSync(process.env.BODY_FILE ?? '');
const contentType = process.env.CONTENT_TYPE ?? 'application/json';

@Controller()
class BodyController {
  @Get('numbers/available')
  answer(@Res() reply: FastifyReply): void {
    void reply.header('content-type', contentType).send(body);
  }
}

@Module({ controllers: [BodyController] })
class MinimalModule {}

async function main(): Promise<void> {
  const options: Pick<NestApplicationOptions, 'logger'> = { logger: false };
  const app = await NestFactory.create<NestFastifyApplication>(
    MinimalModule,
    new FastifyAdapter(),
    options,
  );
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  // A graceful exit, as the service's: Node writes its compile cache only when the process exits
  // by itself, and the bench's floor is measured with that cache as the service is with its own.
  process.once('SIGTERM', () => {
    void app.close().then(() => process.exit(0));
  });
}

void main();
