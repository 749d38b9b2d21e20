/** Errors that mean this member's generation is over. */
export function isMembershipError(error: unknown): boolean {
  const type = (error as { type?: string } | null)?.type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'ILLEGAL_GENERATION' || type === 'UNKNOWN_MEMBER_ID' || type === 'NOT_COORDINATOR_FOR_GROUP';
}

/**
 * Errors that mean another member may own our partitions already (the group forgot us, or
 * moved to a newer generation), unlike REBALANCE_IN_PROGRESS, during which we still hold them.
 */
export function isGenerationOver(error: unknown): boolean {
  const type = (error as { type?: string } | null)?.type;
  return type === 'UNKNOWN_MEMBER_ID' || type === 'ILLEGAL_GENERATION';
}

/** Whether `promise` settled within `ms`; never rejects. */
export async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
