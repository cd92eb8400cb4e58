import { BeforeApplicationShutdown, Injectable, OnApplicationBootstrap } from '@nestjs/common';

/** Whether this process should receive traffic: not before it has booted, not while draining. */
@Injectable()
export class LifecycleState implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private phase: 'starting' | 'serving' | 'draining' = 'starting';

  get current(): 'starting' | 'serving' | 'draining' {
    return this.phase;
  }

  onApplicationBootstrap(): void {
    if (this.phase === 'starting') this.phase = 'serving';
  }

  /** Called first on SIGTERM/SIGINT (and app.close()): readiness turns 503 at once. */
  beginDraining(): void {
    this.phase = 'draining';
  }

  beforeApplicationShutdown(): void {
    this.beginDraining();
  }
}
