/**
 * The ACL rules an operator grants the service's Redis user (docs/redis.md, "What the service
 * needs from Redis"), for the suites that run it as that user. Keys and channels are limited to
 * the key prefix; the commands are the ones it sends:
 * - GET/SET/DEL/EXISTS/TYPE/PTTL/INCRBY/PEXPIRE: copies, locks, rate limits, the boot probe;
 * - EVAL/EVALSHA/SCRIPT LOAD: the Lua scripts (refresh lock, copy compare-and-set, idempotency
 *   claim/complete/release, the invalidation announce), whose inner GET/SET/DEL/PUBLISH are
 *   checked against the same rules;
 * - PUBLISH (from the announce script) and SUBSCRIBE: the invalidation channel, named under the
 *   prefix, hence `&<prefix>*` after `resetchannels`;
 * - PING/INFO: health and ioredis' ready check.
 */
export function serviceAcl(prefix = 'superfone-bff-test:'): string {
  return `~${prefix}* resetchannels &${prefix}* -@all +get +set +del +exists +ping +info +evalsha +eval +script|load +type +pttl +incrby +pexpire +publish +subscribe`;
}

/** On a cluster the client also reads the slot map and the cluster's state. */
export function clusterServiceAcl(prefix = 'superfone-bff-test:'): string {
  return `${serviceAcl(prefix)} +cluster|slots +cluster|info`;
}
