/** How a consumer retries a failing event before parking it on the dead-letter topic. */
export interface RetryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 5_000 };

export const backoffMs = (policy: RetryPolicy, attempt: number) =>
  Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
